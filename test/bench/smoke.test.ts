import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Keeps the benchmarks from rotting: runs `npm run bench -- --smoke` (tiny sizes, real
 * broker and BigQuery emulator) and checks that every row of the table was produced with
 * numbers. No timing is asserted: this machine is shared and noisy, and the figures of a
 * smoke run mean nothing; `npm run bench` is where they are measured.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function runSmoke(out: string, extra: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench/run.js'), '--smoke', '--out', out, ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

interface Row {
  id: string;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  peakRssMb: number | { receiver: number; sink: number };
  ratio: number;
  runs: number;
}

describe('npm run bench -- --smoke', () => {
  it('produces every row of the table with numeric values', { timeout: 240_000 }, async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'callstream-bench-smoke-')), 'smoke.json');
    const { code, output } = await runSmoke(out);
    expect(code, output.slice(-4000)).toBe(0);
    const results = JSON.parse(readFileSync(out, 'utf8')) as {
      machine: Record<string, unknown>;
      rows: Row[];
      bigquery: Record<string, number>;
      bigqueryStaged: Record<string, number>;
      targets: Array<{ id: string; value: number; met: boolean }>;
    };
    const byId = new Map(results.rows.map((r) => [r.id, r]));
    // Receiver: bare node:http, ProducerPerformance, saturation, fixed rates (one is half of saturation).
    // Sink: raw consumer and sink at two backlog sizes. End to end.
    for (const id of ['R1', 'R2', 'R3', 'R3t', 'R3s', 'R4', 'R5', 'S1', 'S2', 'S3', 'S4', 'E1', 'T1', 'T2']) expect(byId.has(id), `row ${id}`).toBe(true);
    // Tracing on: the spans reached the OTLP endpoint (two per webhook: the server span, with its steps as events, and publish).
    expect((results as unknown as { sections: { receiver: { traced: Array<{ spansPerWebhook: number }> } } }).sections.receiver.traced[0].spansPerWebhook).toBeGreaterThan(1.5);
    for (const row of results.rows) {
      expect(Number.isFinite(row.throughput) && row.throughput > 0, `${row.id} throughput`).toBe(true);
      expect(row.runs, `${row.id} runs`).toBeGreaterThan(0);
    }
    for (const id of ['R1', 'R2', 'R3', 'R4', 'R5', 'E1']) {
      expect(Number.isFinite(byId.get(id)!.p50), `${id} p50`).toBe(true);
      expect(Number.isFinite(byId.get(id)!.p99), `${id} p99`).toBe(true);
    }
    expect(Number.isFinite(byId.get('E1')!.p95)).toBe(true);
    for (const id of ['R1', 'R3', 'R4', 'R5', 'S1', 'S2', 'S3', 'S4']) expect(byId.get(id)!.peakRssMb as number, `${id} RSS`).toBeGreaterThan(0);
    const e2eRss = byId.get('E1')!.peakRssMb as { receiver: number; sink: number };
    expect(e2eRss.receiver).toBeGreaterThan(0);
    expect(e2eRss.sink).toBeGreaterThan(0);
    for (const id of ['R3', 'S2', 'S4', 'T2']) expect(Number.isFinite(byId.get(id)!.ratio), `${id} ratio`).toBe(true);
    for (const id of ['T1', 'T2']) expect(Number.isFinite(byId.get(id)!.p95), `${id} p95`).toBe(true);
    for (const key of ['rowsPerMergeMedian', 'maxMergesPer10s', 'maxConcurrentPerTable', 'maxRequestMB']) {
      expect(Number.isFinite(results.bigquery[key]), `bigquery ${key}`).toBe(true);
    }
    // The staged mode: append throughput, rows per MERGE, MERGEs per 10 s and in flight, request sizes.
    for (const key of ['appendRowsPerSec', 'rowsPerMergeMedian', 'maxMergesPer10s', 'maxConcurrentPerTable', 'maxAppendMiB', 'maxRequestMB', 'offeredPerSec']) {
      expect(Number.isFinite(results.bigqueryStaged[key]), `bigqueryStaged ${key}`).toBe(true);
    }
    expect(results.bigqueryStaged.merges).toBeGreaterThan(0);
    expect(results.bigqueryStaged.maxAppendsInFlight).toBeGreaterThanOrEqual(1);
    expect(results.targets.map((t) => t.id)).toEqual([
      'receiver-throughput',
      'receiver-throughput-60',
      'receiver-p99',
      'receiver-rss',
      'receiver-tracing',
      'receiver-tracing-sampled',
      'sink-ratio',
      'sink-rate',
      'sink-rss',
      'e2e-p95',
      'e2e-p99',
      'bq-concurrent',
      'bq-dml',
      'bq-request',
      'bqs-append-rate',
      'bqs-merges',
      'bqs-concurrent',
      'bqs-request',
      'trace-latency',
    ]);
    for (const t of results.targets) expect(Number.isFinite(t.value), `target ${t.id}`).toBe(true);
    expect(output).toContain('| Target | Measured | Met |');
    expect(typeof results.machine.cpu).toBe('string');
  });

  it('--only history: the write path by rows stored for both designs, the end to end on top, targets and the chart', { timeout: 240_000 }, async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'callstream-bench-history-')), 'history.json');
    const { code, output } = await runSmoke(out, ['--only', 'history']);
    expect(code, output.slice(-4000)).toBe(0);
    const results = JSON.parse(readFileSync(out, 'utf8')) as {
      history: {
        filtered: Array<{ stored: number; rowsPerSec: number | null; p50: number; emptyP50: number | null; rssMB: number; errors: number }>;
        merge: Array<{ stored: number; p50: number }>;
        e2e: { full?: { p95: number; runs: number }; empty?: { p95: number }; oldest?: { p95: number }; liveFrom?: string };
        erased: { count: number; ordinary: { rowsWritten: number[]; refusedAsErased: number[]; recordsPerSec: number }; erased: { rowsWritten: number[]; refusedAsErased: number[]; recordsPerSec: number } };
        backlog: { records: number; committed: number; stalled: boolean; peakRssMb: number };
        bigquery: Array<{ mode: string; lookbackDays: number; failure: string | null; steps: Array<{ stored: number; p50: number; filters: string[]; rowsInBound: number; rowsTotal: number }> }>;
        chart: string;
      };
      targets: Array<{ id: string; value: number }>;
    };
    const { filtered, merge, e2e, erased, backlog, bigquery, chart } = results.history;
    // A line at 0 rows and one per step, for each design; rows only grow.
    for (const steps of [filtered, merge]) {
      expect(steps.length).toBeGreaterThanOrEqual(3);
      expect(steps.map((s) => s.stored)).toEqual([...steps.map((s) => s.stored)].sort((a, b) => a - b));
      for (const s of steps) expect(Number.isFinite(s.p50) && s.p50 > 0).toBe(true);
    }
    // Every line carries the same-moment baseline the upsert target is judged against.
    for (const s of filtered) expect(Number.isFinite(s.emptyP50) && s.emptyP50! > 0).toBe(true);
    expect(filtered.at(-1)!.stored).toBeGreaterThanOrEqual(20_000);
    expect(filtered.slice(1).every((s) => Number(s.rowsPerSec) > 0 && s.rssMB > 0 && s.errors === 0)).toBe(true);
    expect(Number.isFinite(e2e.full?.p95) && Number.isFinite(e2e.empty?.p95)).toBe(true);
    // Live traffic is dated after the history's newest call (call n at n seconds after
    // 2026-11-27), and the file outlives its run: the run dated at the history's start reuses it.
    expect(Date.parse(e2e.liveFrom!)).toBeGreaterThan(Date.parse('2026-11-27T00:00:00Z') + filtered.at(-1)!.stored * 1000);
    expect(Number.isFinite(e2e.oldest?.p95)).toBe(true);
    // The erased tenant's calls are all refused and none written; the ordinary ones all written.
    expect(erased.erased.refusedAsErased).toEqual([erased.count]);
    expect(erased.erased.rowsWritten).toEqual([0]);
    expect(erased.ordinary.rowsWritten).toEqual([erased.count]);
    expect(erased.ordinary.refusedAsErased).toEqual([0]);
    expect(erased.erased.recordsPerSec > 0 && erased.ordinary.recordsPerSec > 0).toBe(true);
    // A small backlog of large webhooks drains whole.
    expect(backlog.committed).toBe(backlog.records);
    expect(backlog.stalled).toBe(false);
    expect(backlog.peakRssMb).toBeGreaterThan(0);
    // BigQuery on the emulator: merge mode as shipped scans the whole table; with a lookback, and
    // in staged mode, each MERGE carries a bound on the partitioning column.
    expect(bigquery.map((b) => [b.mode, b.lookbackDays, b.failure])).toEqual([['merge', 0, null], ['merge', 1, null], ['staged', null, null]]);
    for (const b of bigquery) {
      expect(b.steps.length).toBeGreaterThanOrEqual(2);
      expect(b.steps.at(-1)!.stored).toBeGreaterThanOrEqual(600);
      for (const s of b.steps) expect(s.p50).toBeGreaterThan(0);
    }
    expect(bigquery[0]!.steps.flatMap((s) => s.filters)).toEqual(bigquery[0]!.steps.map(() => '(none: the whole table)'));
    for (const b of bigquery.slice(1)) for (const s of b.steps) expect(s.filters.every((f) => /T\.event_time >= /.test(f)), JSON.stringify(s.filters)).toBe(true);
    // ...and so reads every stored row, where a bounded MERGE reads the newest days' only.
    for (const s of bigquery[0]!.steps) expect(s.rowsInBound).toBe(s.rowsTotal);
    for (const b of bigquery.slice(1)) expect(b.steps.at(-1)!.rowsInBound).toBeLessThan(b.steps.at(-1)!.rowsTotal);
    expect(results.targets.map((t) => t.id)).toEqual(['history-no-failure', 'history-bulk', 'history-upsert', 'history-rss', 'history-e2e', 'history-gaps', 'history-erased', 'history-backlog']);
    for (const t of results.targets) expect(Number.isFinite(t.value), `target ${t.id}`).toBe(true);
    const svg = readFileSync(chart, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)?.length).toBe(6); // three panels, two designs each
  });
});
