import { expect } from 'vitest';
import { mainInProcess } from '../support/main-in-process.js';
import { TABLES, type Warehouse } from '../../src/warehouse/index.js';
import type { Dialect } from '../support/dialects.js';
import { callCompleted } from '../support/fixtures.js';
import type { Config } from '../../src/config/index.js';
import { groupProgress, rewindToEarliest, startTestPipeline, TEST_BROKERS, waitFor } from '../support/pipeline-harness.js';
import { post } from './scenario.js';
import { statusCallback, twilioCallback } from './telephony-scenario.js';

/**
 * Personal data end to end (issue 16): calls from two callers, compliance events about their
 * numbers, and the providers' callbacks with From/To, so that every place a number can land
 * (number columns, subject ids, Kafka keys in requests, JSON columns, the payload, the callbacks'
 * fields and body) is exercised.
 */

export const ALICE = '+14155550100';
export const BOB = '+14155550199';
export const CALLS = 6;
/** Calls 0-2 are Alice's, 3-5 Bob's; call 5 belongs to tenant 45, the others to 44. */
export const calleeOf = (n: number) => `+9199000000${n}`;
export const callerOf = (n: number) => (n < 3 ? ALICE : BOB);
export const callSidOf = (n: number) => String(callCompleted(n).call_sid);

/** Every number the scenario sends. */
export const NUMBERS = [ALICE, BOB, ...Array.from({ length: CALLS }, (_, n) => calleeOf(n))];

export interface Expected {
  [table: string]: number;
}

/** The rows a complete scenario leaves in the event tables. */
export const STORED: Expected = { call_events: CALLS, compliance_events: 2, telephony_callbacks: CALLS };

export async function sendPrivacyScenario(url: string): Promise<void> {
  for (let n = 0; n < CALLS; n++) {
    const body = callCompleted(n, {
      tenant_id: n === 5 ? 45 : 44,
      from_e164: callerOf(n),
      to_e164: calleeOf(n),
      extracted_data: { callback_number: callerOf(n), customer_name: `Customer ${n}`, outcome: 'booked' },
      tool_calls: [{ name: 'sms.send', arguments: { to: calleeOf(n), text: 'see you' } }],
    });
    expect((await post(url, body)).status).toBe(202);
  }
  for (const number of [ALICE, calleeOf(0)]) {
    expect((await post(url, { event: 'number_health.flagged', tenant_id: 44, number_e164: number, health: 'spam_likely' })).status).toBe(202);
  }
  for (let n = 0; n < CALLS; n++) {
    const params = { ...statusCallback(callSidOf(n), 'completed', n), From: callerOf(n), To: calleeOf(n), Caller: callerOf(n), Called: calleeOf(n) };
    expect((await twilioCallback(url, params)).status).toBe(202);
  }
}

export async function countRows(warehouse: Warehouse, dialect: Dialect, table: string): Promise<number> {
  return Number((await warehouse.query(`SELECT COUNT(*) AS n FROM ${dialect.table(warehouse, table)}`))[0].n);
}

/** Waits until the event tables hold the expected rows, and the requests index one row per request sent. */
export async function waitForStored(warehouse: Warehouse, dialect: Dialect, expected: Expected = STORED, requests = CALLS + 2 + CALLS): Promise<void> {
  for (const [table, rows] of Object.entries({ ...expected, requests })) {
    await waitFor(() => countRows(warehouse, dialect, table), (n) => n === rows, 90_000, `${rows} rows in ${table}`);
  }
}

/** Scans every column of every row of every table for the numbers sent, with or without the + (as a form body encodes it). */
export async function expectNoRawNumbers(warehouse: Warehouse, dialect: Dialect, atLeastRows = CALLS * 3): Promise<void> {
  const digits = NUMBERS.map((n) => n.slice(1));
  let scanned = 0;
  for (const spec of TABLES) {
    const rows = await warehouse.query(`SELECT ${dialect.rowText()} AS row_text FROM ${dialect.table(warehouse, spec.name)} t`);
    scanned += rows.length;
    const leaks = rows.map((r) => String(r.row_text)).filter((text) => digits.some((d) => text.includes(d)));
    expect(leaks, `raw numbers in ${spec.name}`).toEqual([]);
  }
  expect(scanned).toBeGreaterThanOrEqual(atLeastRows);
}

/** Joins and counts on the hashed numbers: calls per caller, calls to flagged numbers, callbacks per call by From. */
export async function expectJoinsOnHashes(warehouse: Warehouse, dialect: Dialect, stored: (n: string) => string): Promise<void> {
  const calls = dialect.table(warehouse, 'call_events');
  const perCaller = await warehouse.query(`SELECT from_e164, from_last4, COUNT(*) AS n FROM ${calls} GROUP BY from_e164, from_last4 ORDER BY from_last4`);
  expect(perCaller.map((r) => ({ ...r, n: Number(r.n) }))).toEqual([
    { from_e164: stored(ALICE), from_last4: '0100', n: 3 },
    { from_e164: stored(BOB), from_last4: '0199', n: 3 },
  ]);
  const flagged = await warehouse.query(
    `SELECT c.call_id FROM ${calls} c JOIN ${dialect.table(warehouse, 'compliance_events')} k ON k.number_e164 = c.to_e164 OR k.number_e164 = c.from_e164 ORDER BY c.call_id`,
  );
  expect(flagged.map((r) => r.call_id)).toEqual(['vs_0', 'vs_0', 'vs_1', 'vs_2']);
  const byFrom = await warehouse.query(
    `SELECT COUNT(*) AS n FROM ${calls} c JOIN ${dialect.table(warehouse, 'telephony_callbacks')} t ON ${dialect.jsonValue('t.fields', '$.From')} = c.from_e164 AND t.call_sid = c.call_sid`,
  );
  expect(Number(byFrom[0].n)).toBe(CALLS);
}

/** What is left after erasing Bob's number (calls 3-5) and call vs_0: the rows of calls 1 and 2, both flags (they are about numbers). */
export const AFTER_ERASURE: Expected = { call_events: 2, compliance_events: 2, telephony_callbacks: 2 };
/** Requests left: those of calls 1 and 2 (event and callback each) and of the two flags. */
export const REQUESTS_AFTER_ERASURE = 6;

type Pipeline = Awaited<ReturnType<typeof startTestPipeline>>['pipeline'];

/** Erases Bob and vs_0 through the running pipeline, checks the receipts and the rows left. */
export async function eraseBobAndCallZero(pipeline: Pipeline, warehouse: Warehouse, dialect: Dialect): Promise<void> {
  const dry = await pipeline.erase({ kind: 'phone', value: BOB }, { dryRun: true });
  expect(dry.rows).toMatchObject({ call_events: 3, telephony_callbacks: 3, requests: 6 });
  expect(await countRows(warehouse, dialect, 'call_events')).toBe(CALLS); // a dry run changes nothing
  const bob = await pipeline.erase({ kind: 'phone', value: BOB }, { dryRun: false });
  expect(bob.matched.callIds).toEqual(['vs_3', 'vs_4', 'vs_5']);
  expect(bob.matched.callSids).toEqual([3, 4, 5].map(callSidOf).sort());
  expect(bob.rows).toMatchObject({ call_events: 3, compliance_events: 0, telephony_callbacks: 3, requests: 6 });
  const zero = await pipeline.erase({ kind: 'call', value: 'vs_0' }, { dryRun: false });
  expect(zero.rows).toMatchObject({ call_events: 1, telephony_callbacks: 1, requests: 2 });
  await expectErasedGone(warehouse, dialect);
}

/** Sends the erased subjects' events again (a redelivery, a late callback): none may be written. */
export async function sendErasedAgain(url: string): Promise<void> {
  for (const n of [0, 3]) expect((await post(url, callCompleted(n, { from_e164: callerOf(n), to_e164: calleeOf(n), tenant_id: 44 }))).status).toBe(202);
  const late = { ...statusCallback(callSidOf(4), 'no-answer', 40), From: BOB, To: calleeOf(4) };
  expect((await twilioCallback(url, late)).status).toBe(202);
  // A new call from Bob after the erasure: the erasure is of the number, so it is not stored either.
  expect((await post(url, callCompleted(9, { from_e164: BOB, to_e164: calleeOf(1) }))).status).toBe(202);
}

/** The rows left after the erasures; `alsoErased`: calls erased afterwards (each one row in call_events and telephony_callbacks, two requests). */
export async function expectErasedGone(warehouse: Warehouse, dialect: Dialect, alsoErased: string[] = []): Promise<void> {
  const less: Expected = { call_events: alsoErased.length, telephony_callbacks: alsoErased.length };
  for (const [table, rows] of Object.entries(AFTER_ERASURE)) expect(await countRows(warehouse, dialect, table), table).toBe(rows - (less[table] ?? 0));
  // vs_9, Bob's call after the erasure: its requests row (ids and status only) is refused only when the sink met its event first (README "Privacy").
  const requests = await warehouse.query(`SELECT COUNT(*) AS n FROM ${dialect.table(warehouse, 'requests')} WHERE entity_key IS NULL OR entity_key <> 'vs_9'`);
  expect(Number(requests[0].n), 'requests').toBe(REQUESTS_AFTER_ERASURE - 2 * alsoErased.length);
  const calls = await warehouse.query(`SELECT call_id FROM ${dialect.table(warehouse, 'call_events')} ORDER BY call_id`);
  expect(calls.map((r) => r.call_id)).toEqual(['vs_1', 'vs_2'].filter((id) => !alsoErased.includes(id)));
}

/**
 * Rewinds the sink's group on every topic it reads to the start and lets a fresh sink read them
 * all again. The events topic with `callstream replay --to-earliest --yes` (the CLI, in-process),
 * the others as Kafka's consumer-group tool does (an offset reset through the admin API).
 */
export async function replayEverything(config: Config, warehouse: Warehouse): Promise<void> {
  const topics = [config.topicEvents, config.topicTelephony, config.topicRaw, config.topicTelephonyRaw];
  const replayed = await mainInProcess(['replay', '--to-earliest', '--yes', '--topic', config.topicEvents, '--group', config.consumerGroup], { KAFKA_BROKERS: TEST_BROKERS.join(','), LOG_LEVEL: 'silent' });
  expect(replayed.code, replayed.all).toBe(0);
  expect((await groupProgress(config.consumerGroup, config.topicEvents)).committed).toBe(0);
  for (const topic of topics.slice(1)) await rewindToEarliest(config.consumerGroup, topic);
  const replay = await startTestPipeline({ config, warehouse, receiver: false });
  try {
    for (const topic of topics) await waitFor(() => groupProgress(config.consumerGroup, topic), (p) => p.committed === p.end, 90_000, `the replay of ${topic}`);
  } finally {
    await replay.pipeline.stop();
  }
}
