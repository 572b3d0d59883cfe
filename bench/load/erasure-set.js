#!/usr/bin/env node
// The sink's erasure check alone (ErasureSet.covers, what it asks for every row it decodes),
// without Kafka or a warehouse: `count` call_events rows of an erased tenant (each a new call,
// which the set learns) against `count` ordinary ones (another tenant), with `others` erasures
// of numbers (10 calls each) in force besides the tenant's. Prints one JSON report: rows/s of
// each pass, their ratio, the learned calls kept and forgotten, and the heap per learned call
// (with node --expose-gc; null without).
//
// Usage: node --expose-gc bench/load/erasure-set.js '{"count":100000,"others":1000}'
// (needs `npm run build`; "dist": "/path/to/dist" measures another build, e.g. an older commit's).
import { eventRecordAt } from '../lib/payload.js';

const { count = 100_000, others = 1_000, dist } = JSON.parse(process.argv[2] ?? '{}');
// One build for all three: the set knows tables by identity.
const build = dist ?? new URL('../../dist', import.meta.url).pathname;
const { ErasureSet } = await import(`${build}/erasure/index.js`);
const { CALL_EVENTS } = await import(`${build}/warehouse/index.js`);
const { callaroRow } = await import(`${build}/sink/callaro-rows.js`);

const ERASED = 44;
const ORDINARY = 45;
const now = Date.now();

/** Call `i` of a run as the sink builds its row, in the given tenant. */
function rowsOf(run, tenant) {
  const rows = [];
  for (let i = 0; i < count; i++) {
    const { row } = callaroRow(eventRecordAt(run, i, now), { partition: i % 6, offset: Math.floor(i / 6) }, now);
    rows.push({ ...row, tenant_id: tenant });
  }
  return rows;
}

function heapUsed() {
  if (!globalThis.gc) return null;
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** Asks the set about every row; the rows it covers are counted. */
function pass(set, rows) {
  let covered = 0;
  const began = performance.now();
  for (const row of rows) if (set.covers(CALL_EVENTS, row)) covered++;
  const ms = performance.now() - began;
  return { rows: rows.length, covered, seconds: +(ms / 1000).toFixed(3), rowsPerSec: Math.round((rows.length / ms) * 1000) };
}

const set = new ErasureSet();
set.apply(`tenant:${ERASED}`, { key: `tenant:${ERASED}`, kind: 'tenant', erasedAt: new Date(now).toISOString(), phones: [], callIds: [], callSids: [], tenants: [ERASED], callTenants: [ERASED] });
for (let p = 0; p < others; p++) {
  const phone = `+1555${String(p).padStart(7, '0')}`;
  const calls = Array.from({ length: 10 }, (_, c) => `other_${p}_${c}`);
  set.apply(`phone:${phone}`, { key: `phone:${phone}`, kind: 'phone', erasedAt: '', phones: [phone], callIds: calls, callSids: calls.map((c) => `CA${c}`), tenants: [], callTenants: [46] });
}

const ordinaryRows = rowsOf('ordinary', ORDINARY);
const erasedRows = rowsOf('erased', ERASED);
pass(set, ordinaryRows.slice(0, 2_000)); // warm-up, no row covered
const ordinary = pass(set, ordinaryRows);
const before = heapUsed();
const erased = pass(set, erasedRows);
const after = heapUsed();
const stats = set.stats ? set.stats() : { learnedCalls: null };
const report = {
  count,
  others,
  build: dist ?? 'dist',
  ordinary,
  erased,
  erasedVsOrdinary: +(erased.rowsPerSec / ordinary.rowsPerSec).toFixed(3),
  set: stats,
  heapBytesPerLearnedCall: before === null || !stats.learnedCalls ? null : Math.round((after - before) / stats.learnedCalls),
};
console.log(JSON.stringify({ report }));
