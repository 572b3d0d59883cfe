import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../src/warehouse/index.js';
import { viewSettings, type ViewSettings } from '../../src/warehouse/views/index.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { BQ_EMULATOR, emulatorWarehouse, requireEmulator } from '../support/bigquery-emulator.js';
import { callCompleted } from '../support/fixtures.js';
import { mainInProcess } from '../support/main-in-process.js';
import { isolatedConfig, readTopic, startTestPipeline, waitFor, waitForCaughtUp as waitForCaughtUpOn } from '../support/pipeline-harness.js';
import { dedicatedBroker, freeBrokerPort } from '../support/processes.js';
import type { Publisher } from '../../src/kafka/index.js';
import { post } from './scenario.js';
import { statusCallback, twilioCallback, writeVendorsFile } from './telephony-scenario.js';

/**
 * Every call accounted for (issue 24), through the real pipeline on both warehouses: the
 * provider's callbacks and Callaro's reports, and the calls where one side never came.
 */
const MINUTE = 60_000;
const ERASED_NUMBER = '+14155559999';

/**
 * A broker of this file's own: the refused call's reports meet it stopped (connections refused),
 * which must not disturb other tests on the shared one. It is stopped only while every earlier
 * request was acknowledged, and started again only once the publisher gave the refused records
 * up, so nothing of them can be in flight or land later.
 */
let broker: ReturnType<typeof dedicatedBroker>;
const waitForCaughtUp = (group: string, topic: string) => waitForCaughtUpOn(group, topic, 60_000, [broker.address]);
beforeAll(async () => {
  broker = dedicatedBroker(await freeBrokerPort());
  broker.start();
}, 180_000);
afterAll(() => broker?.stop(), 120_000);

// The views as the pipeline's own warehouse would create them from the config (vendors configured: no_provider is listed).
type Engine = { name: string; open: (views: ViewSettings) => Promise<{ warehouse: Warehouse; connector?: Record<string, unknown> }> };
const engines: Engine[] = [
  { name: 'duckdb', open: async (views) => ({ warehouse: await DuckDbWarehouse.open(':memory:', { views }) }) },
  {
    name: 'bigquery (emulator)',
    open: async (views) => {
      await requireEmulator();
      const warehouse = Object.assign(emulatorWarehouse(), { viewSettings: views });
      const { projectId, dataset } = warehouse.settings;
      return { warehouse, connector: { name: 'gaps', warehouse: 'bigquery', bigquery: { projectId, dataset, apiEndpoint: BQ_EMULATOR.endpoint, credentials: 'none' } } };
    },
  },
];

describe.each(engines)('call gaps on $name', ({ open }) => {
  let t: Awaited<ReturnType<typeof startTestPipeline>>;
  let warehouse: Warehouse;
  let connectorFile: string | undefined;
  // Each call's times are minutes ago, 20 s past the minute (age_minutes holds for 40 s).
  let now = 0;
  const ago = (minutes: number) => new Date(now - minutes * MINUTE - 20_000).toISOString();
  const callback = (sid: string, status: string, at: string, extra: Record<string, string> = {}) => ({ ...statusCallback(sid, status, 0), Timestamp: at, ...extra });

  beforeAll(async () => {
    now = Date.now();
    const config = isolatedConfig({ kafkaBrokers: [broker.address], publishTimeoutMs: 1_000, sessionTimeoutMs: 6_000, telephonyVendors: writeVendorsFile(), gapsCheckIntervalMs: 300 });
    const opened = await open(viewSettings(config));
    warehouse = opened.warehouse;
    t = await startTestPipeline({ warehouse, querySocket: warehouse.kind === 'duckdb', config: opened.connector ? { ...config, warehouse: 'bigquery' } : config });
    if (opened.connector) {
      connectorFile = join(t.config.dataDir, 'gaps-connector.json');
      writeFileSync(connectorFile, JSON.stringify(opened.connector));
    }
  });
  afterAll(async () => {
    await t?.pipeline.stop();
    await warehouse?.close();
  });

  async function gaps(...args: string[]) {
    const run = await mainInProcess(['gaps', ...args, ...(connectorFile ? ['--connector', connectorFile] : [])], { CALLSTREAM_DATA_DIR: t.config.dataDir, CALLSTREAM_TELEPHONY_VENDORS: t.config.telephonyVendors!, LOG_LEVEL: 'silent' });
    if (run.code > 1) throw new Error(`callstream gaps exited ${run.code}: ${run.err}`);
    return run;
  }
  const listed = async () => (JSON.parse((await gaps('--json')).out) as { gaps: Array<{ kind: string; call_sid: string }> }).gaps.map((g) => `${g.kind} ${g.call_sid}`);
  const gauge = async () => Object.fromEntries((await t.pipeline.metrics.callGaps.get()).values.map((v) => [v.labels.kind, v.value]));

  it('lists a call the provider ended and nobody reported, a report with no callback and a stuck call, never an erased one; the gauge follows', async () => {
    const sent = [
      // Ended two hours ago with 42 s of talk; Callaro's report never came.
      await twilioCallback(t.url, callback('CA-gaps-unreported', 'ringing', ago(122))),
      await twilioCallback(t.url, callback('CA-gaps-unreported', 'in-progress', ago(121))),
      await twilioCallback(t.url, { ...callback('CA-gaps-unreported', 'completed', ago(120)), CallDuration: '42' }),
      // Reported and ended: no gap.
      await twilioCallback(t.url, callback('CA-gaps-fine', 'completed', ago(90))),
      await post(t.url, callCompleted(9101, { call_sid: 'CA-gaps-fine', occurred_at: ago(89) })),
      // Reported two hours ago; no provider ever called back.
      await post(t.url, callCompleted(9102, { call_sid: 'CA-gaps-no-provider', occurred_at: ago(120) })),
      // Ringing for five hours.
      await twilioCallback(t.url, callback('CA-gaps-stuck', 'ringing', ago(300))),
      // Ended unreported too, but its number is erased: never listed.
      await twilioCallback(t.url, callback('CA-gaps-erased', 'completed', ago(150), { From: ERASED_NUMBER })),
    ];
    expect(sent.map((s) => s.status)).toEqual(sent.map(() => 202));
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);
    await waitFor(listed, (l) => l.includes('unreported CA-gaps-erased'), 30_000, 'the erased call to be listed before its erasure');
    await t.pipeline.erase({ kind: 'phone', value: ERASED_NUMBER }, { dryRun: false });

    expect(await listed()).toEqual(['stuck CA-gaps-stuck', 'no_provider CA-gaps-no-provider', 'unreported CA-gaps-unreported']);
    const run = await gaps('--since', '4h');
    expect(run.code).toBe(1);
    expect(run.out).toContain('unreported  CA-gaps-unreported  120 min: last status completed');
    expect(run.out).toContain('talk 42 s');
    expect(run.out).toContain('Next: callstream trace CA-gaps-no-provider');
    expect(run.out).not.toContain('CA-gaps-stuck'); // five hours old: before --since
    expect((await gaps('--kind', 'stuck', '--json')).out).toContain('"call_sid": "CA-gaps-stuck"');
    await waitFor(gauge, (g) => g.unreported === 1 && g.no_provider === 1 && g.stuck === 1, 30_000, 'the gauge to count one of each kind');
  }, 120_000);

  // The call the issue starts from: Callaro's report was refused with 503 every time until Callaro gave up.
  const refusedReport = () => callCompleted(9104, { call_sid: 'CA-gaps-refused', occurred_at: ago(117) });
  async function deliver(body: Record<string, unknown>) {
    const res = await fetch(`${t.url}/callaro/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as { error?: { code: string } };
    return { status: res.status, retryAfter: res.headers.get('retry-after'), code: json.error?.code, requestId: res.headers.get('x-request-id')! };
  }
  const metricsText = async () => (await fetch(`${t.url}/metrics`)).text();

  it('lists a call whose every report was refused with 503 (callbacks only), with nothing of the report in Kafka; the gauge shows it', async () => {
    const callbacks = [
      await twilioCallback(t.url, callback('CA-gaps-refused', 'in-progress', ago(119))),
      await twilioCallback(t.url, { ...callback('CA-gaps-refused', 'completed', ago(118)), CallDuration: '17' }),
    ];
    expect(callbacks.map((s) => s.status)).toEqual([202, 202]);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicTelephony);

    // Every request so far is acknowledged: nothing is in flight when the broker stops.
    broker.stop();
    const publisher = (t.pipeline as unknown as { publisher: Publisher }).publisher;
    const deliveries = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      deliveries.push(await deliver(refusedReport()));
      await publisher.flush(); // the publisher gave the records up: none is pending in kafkajs either
    }
    broker.start();
    expect(deliveries.map(({ status, retryAfter, code }) => ({ status, retryAfter, code }))).toEqual(
      deliveries.map(() => ({ status: 503, retryAfter: '5', code: 'RCV_BROKER_UNAVAILABLE' })),
    );
    // Neither the event nor the audit record of a refused delivery was stored: a 503 means the
    // broker acknowledged nothing of the request (they go in one produce request).
    const refusedIds = new Set(deliveries.map((d) => d.requestId));
    const events = await readTopic(t.config.topicEvents, undefined, [broker.address]);
    expect(events.length).toBeGreaterThan(0);
    expect(events.filter((r) => r.value.call_sid === 'CA-gaps-refused' || refusedIds.has(String(r.value.request_id)))).toEqual([]);
    expect((await readTopic(t.config.topicRaw, undefined, [broker.address])).filter((r) => refusedIds.has(String(r.value.request_id)))).toEqual([]);

    await waitFor(listed, (l) => l.includes('unreported CA-gaps-refused'), 60_000, 'the refused call to be listed');
    expect(await listed()).toEqual(['stuck CA-gaps-stuck', 'no_provider CA-gaps-no-provider', 'unreported CA-gaps-unreported', 'unreported CA-gaps-refused']);
    const run = await gaps('--kind', 'unreported');
    expect(run.code).toBe(1);
    // Its age is not pinned: the broker's outage takes longer than the 40 s the minutes hold for.
    expect(run.out).toMatch(/unreported {2}CA-gaps-refused {2}1\d\d min: last status completed at \S+, talk 17 s \(vendor twilio\)/);
    await waitFor(gauge, (g) => g.unreported === 2, 30_000, 'the gauge to count the refused call');
    // What Prometheus scrapes, and what CallstreamCallsUnaccounted (max by (kind) (callstream_call_gaps) > 0) fires on.
    expect(await metricsText()).toMatch(/^callstream_call_gaps\{kind="unreported"\} 2$/m);
  }, 180_000);

  it('drops the call once its late report lands, and says so with exit 0 when nothing is left', async () => {
    expect((await post(t.url, callCompleted(9103, { call_sid: 'CA-gaps-unreported', occurred_at: ago(1) }))).status).toBe(202);
    // The sender's late report of the refused call: the same call.completed, now accepted.
    expect((await deliver(refusedReport())).status).toBe(202);
    await waitForCaughtUp(t.config.consumerGroup, t.config.topicEvents);
    expect(await listed()).toEqual(['stuck CA-gaps-stuck', 'no_provider CA-gaps-no-provider']);
    await waitFor(gauge, (g) => g.unreported === 0, 30_000, 'the gauge to drop the reported calls');
    expect(await metricsText()).toMatch(/^callstream_call_gaps\{kind="unreported"\} 0$/m);
    const none = await gaps('--kind', 'unreported');
    expect(none.code).toBe(0);
    expect(none.out).toMatch(/^No gaps/);
  }, 120_000);
});
