// Turns the run's raw measurements into the table rows (medians over runs, ratios against
// the in-run baselines), the BigQuery shape, the target verdicts, and a Markdown text
// (the same text goes into the README's performance section).
import { max, median, medianOf } from './stats.js';

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const ms = (n) => (Number.isFinite(n) ? (n < 10 ? fmt(n, 1) : fmt(n)) : '–');
const pct = (r) => (Number.isFinite(r) ? `${fmt(r * 100)} %` : '–');

/** Median CPU microseconds the process spent per webhook answered (cores used / webhooks per second): steadier than throughput on a loaded machine. */
const cpuPerWebhookUs = (runs) => median(runs.map((r) => (r.cpuCores / r.okPerSec) * 1e6));

export function buildRows(results) {
  const rows = [];
  const rc = results.sections.receiver;
  if (rc) {
    const bare = medianOf(rc.bare, 'okPerSec');
    const pp = medianOf(rc.producerPerformance, 'perSec');
    rows.push({
      id: 'R1',
      measurement: 'HTTP ceiling: bare node:http (parse JSON, answer 202)',
      load: `saturation, ${results.plan.receiver.connections} connections; server used ${fmt(medianOf(rc.bare, 'cpuCores'), 2)} cores`,
      throughput: bare,
      unit: 'req/s',
      p50: medianOf(rc.bare, 'latencyMs.p50'),
      p95: NaN,
      p99: medianOf(rc.bare, 'latencyMs.p99'),
      peakRssMb: max(rc.bare.map((r) => r.peakRssMb)),
      ratio: 1,
      ratioNote: 'baseline',
      runs: rc.bare.length,
    });
    rows.push({
      id: 'R2',
      measurement: `Broker ceiling: Kafka ProducerPerformance, acks=all, idempotent, ${fmt(rc.recordBytes)} B records`,
      load: 'saturation',
      throughput: pp,
      unit: `records/s (${fmt(medianOf(rc.producerPerformance, 'mbPerSec'), 1)} MB/s)`,
      p50: medianOf(rc.producerPerformance, 'latencyMs.p50'),
      p95: medianOf(rc.producerPerformance, 'latencyMs.p95'),
      p99: medianOf(rc.producerPerformance, 'latencyMs.p99'),
      peakRssMb: NaN,
      ratio: 1,
      ratioNote: 'baseline',
      runs: rc.producerPerformance.length,
    });
    const sat = medianOf(rc.saturation, 'okPerSec');
    rows.push({
      id: 'R3',
      measurement: 'callstream receiver (2 records per webhook, acks=all)',
      load: `saturation, ${results.plan.receiver.connections} connections; receiver used ${fmt(medianOf(rc.saturation, 'cpuCores'), 2)} cores`,
      throughput: sat,
      unit: 'webhooks/s',
      p50: medianOf(rc.saturation, 'latencyMs.p50'),
      p95: NaN,
      p99: medianOf(rc.saturation, 'latencyMs.p99'),
      peakRssMb: max(rc.saturation.map((r) => r.peakRssMb)),
      ratio: sat / bare,
      ratioNote: `of R1; ${pct((2 * sat) / pp)} of R2 in records/s`,
      runs: rc.saturation.length,
    });
    if (rc.jsCrc?.length) {
      const js = medianOf(rc.jsCrc, 'okPerSec');
      rows.push({
        id: 'R3j',
        measurement: 'Lever check: R3 with kafkajs\'s JavaScript CRC-32C (CALLSTREAM_JS_CRC32C=1)',
        load: `saturation, ${results.plan.receiver.connections} connections; receiver used ${fmt(medianOf(rc.jsCrc, 'cpuCores'), 2)} cores`,
        throughput: js,
        unit: 'webhooks/s',
        p50: medianOf(rc.jsCrc, 'latencyMs.p50'),
        p95: NaN,
        p99: medianOf(rc.jsCrc, 'latencyMs.p99'),
        peakRssMb: max(rc.jsCrc.map((r) => r.peakRssMb)),
        ratio: sat / js,
        ratioNote: 'R3 / R3j: the native checksum\'s gain',
        runs: rc.jsCrc.length,
      });
    }
    // The tracing checks: R3 again with OpenTelemetry on, every webhook sampled (R3t) or one in ten (R3s).
    const tracedRow = (id, runs, measurement) => {
      const on = medianOf(runs, 'okPerSec');
      const cpu = cpuPerWebhookUs(runs);
      const off = cpuPerWebhookUs(rc.saturation);
      return {
        id,
        measurement,
        load: `saturation, ${results.plan.receiver.connections} connections; receiver used ${fmt(medianOf(runs, 'cpuCores'), 2)} cores; ${fmt(medianOf(runs, 'spansPerWebhook'), 2)} spans exported per webhook`,
        throughput: on,
        unit: 'webhooks/s',
        p50: medianOf(runs, 'latencyMs.p50'),
        p95: NaN,
        p99: medianOf(runs, 'latencyMs.p99'),
        peakRssMb: max(runs.map((r) => r.peakRssMb)),
        ratio: on / sat,
        ratioNote: `of R3 (tracing off): tracing costs ${pct(1 - on / sat)} of throughput; CPU per webhook ${fmt(cpu)} µs against R3's ${fmt(off)} µs (${pct(cpu / off - 1)} more)`,
        cpuPerWebhookUs: cpu,
        runs: runs.length,
        tracing: true,
      };
    };
    if (rc.traced?.length) rows.push(tracedRow('R3t', rc.traced, 'Tracing check: R3 with OpenTelemetry on (OTEL_TRACES_EXPORTER=otlp, every webhook sampled, OTLP/HTTP export)'));
    if (rc.tracedSampled?.length) rows.push(tracedRow('R3s', rc.tracedSampled, 'Tracing check: R3t with one webhook in ten sampled (OTEL_TRACES_SAMPLER=parentbased_traceidratio, 0.1)'));
    for (const [k, rate] of rc.rates.entries()) {
      const runs = rc.fixed[rate];
      const achieved = medianOf(runs, 'okPerSec');
      rows.push({
        id: `R${4 + k}`,
        measurement: 'callstream receiver',
        load: `${fmt(rate)}/s offered${rate === rc.halfRate ? ' (half of R3)' : ''}`,
        throughput: achieved,
        unit: 'webhooks/s',
        p50: medianOf(runs, 'latencyMs.p50'),
        p95: NaN,
        p99: medianOf(runs, 'latencyMs.p99'),
        peakRssMb: max(runs.map((r) => r.peakRssMb)),
        ratio: achieved / rate,
        ratioNote: 'of offered',
        runs: runs.length,
        offered: rate,
        half: rate === rc.halfRate,
      });
    }
  }
  const sk = results.sections.sink;
  if (sk) {
    let firstSinkRss;
    for (const entry of sk.sizes) {
      const raw = medianOf(entry.raw, 'perSec');
      const sink = medianOf(entry.sink, 'perSec');
      const sinkRss = max(entry.sink.map((r) => r.peakRssMb));
      firstSinkRss ??= sinkRss;
      rows.push({
        id: `S${rows.filter((r) => r.id.startsWith('S')).length + 1}`,
        measurement: 'Raw kafkajs consumer (Avro decode, commit per batch)',
        load: `${fmt(entry.size)} backlog`,
        throughput: raw,
        unit: 'records/s',
        p50: NaN,
        p95: NaN,
        p99: NaN,
        peakRssMb: max(entry.raw.map((r) => r.peakRssMb)),
        ratio: 1,
        ratioNote: 'baseline',
        runs: entry.raw.length,
        backlog: entry.size,
        kind: 'raw',
      });
      rows.push({
        id: `S${rows.filter((r) => r.id.startsWith('S')).length + 1}`,
        measurement: 'callstream sink into DuckDB (drain until committed)',
        load: `${fmt(entry.size)} backlog`,
        throughput: sink,
        unit: 'records/s',
        p50: NaN,
        p95: NaN,
        p99: NaN,
        peakRssMb: sinkRss,
        ratio: sink / raw,
        ratioNote: sinkRss === firstSinkRss ? 'of the raw consumer' : `of the raw consumer; RSS ${fmt(sinkRss / firstSinkRss, 2)}× the first backlog's`,
        runs: entry.sink.length,
        backlog: entry.size,
        kind: 'sink',
      });
    }
  }
  const e2e = results.sections.e2e;
  if (e2e) {
    const achieved = median(e2e.runs.map((r) => r.ok / r.sendSeconds));
    rows.push({
      id: 'E1',
      measurement: 'End to end: 2xx to row queryable (receiver + sink + DuckDB, default flush)',
      load: `${fmt(results.plan.e2e.rate)} webhooks/s steady`,
      throughput: achieved,
      unit: 'webhooks/s',
      p50: medianOf(e2e.runs, 'delayMs.p50'),
      p95: medianOf(e2e.runs, 'delayMs.p95'),
      p99: medianOf(e2e.runs, 'delayMs.p99'),
      peakRssMb: { receiver: max(e2e.runs.map((r) => r.receiverPeakRssMb)), sink: max(e2e.runs.map((r) => r.sinkPeakRssMb)) },
      ratio: NaN,
      ratioNote: `${fmt(median(e2e.runs.map((r) => r.timed)))} calls timed per run`,
      runs: e2e.runs.length,
    });
  }
  const tr = results.sections.trace;
  if (tr) {
    const pct95 = (list) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.ceil(0.95 * list.length) - 1)];
    const lookup = median(tr.lookupMs);
    rows.push({
      id: 'T1',
      measurement: 'Baseline: one keyed SELECT on the requests table (DuckDB)',
      load: `${fmt(tr.requests)} requests indexed, ${tr.samples} calls`,
      throughput: 1000 / lookup,
      unit: 'lookups/s',
      p50: lookup,
      p95: pct95(tr.lookupMs),
      p99: NaN,
      peakRssMb: NaN,
      ratio: 1,
      ratioNote: 'baseline',
      runs: tr.lookupMs.length,
    });
    const story = median(tr.traceMs);
    rows.push({
      id: 'T2',
      measurement: 'callstream trace <call_id>: the whole story (every lookup round)',
      load: `${fmt(tr.requests)} requests, ${fmt(tr.calls)} calls, ${tr.rounds} rounds`,
      throughput: 1000 / story,
      unit: 'traces/s',
      p50: story,
      p95: pct95(tr.traceMs),
      p99: NaN,
      peakRssMb: NaN,
      ratio: lookup / story,
      ratioNote: `of T1's rate: ${tr.rounds} rounds of keyed SELECTs`,
      runs: tr.traceMs.length,
      indexed: tr.requests,
    });
  }
  return rows;
}

export function buildBigQuery(results) {
  const bq = results.sections.bigquery;
  if (!bq) return undefined;
  const MB = 1_000_000;
  return {
    rate: bq.rate,
    flush: bq.flush,
    rowsPerMergeMedian: bq.rowsPerMerge.median,
    rowsPerMergeMax: bq.rowsPerMerge.max,
    maxMergesPer10s: bq.maxMergesPer10s,
    maxConcurrentPerTable: bq.maxConcurrentPerTable,
    maxRequestMB: bq.maxRequestBytes / MB,
    merges: bq.merges,
    medianMergeMs: bq.medianMergeMs,
    fed: bq.fed.sent,
    committed: bq.committed,
    observedSec: bq.observedSec,
    peakRssMb: bq.peakRssMb,
    limits: { concurrent: 2, dmlPer10s: 25, requestMB: 10 },
  };
}

export function buildBigQueryStaged(results) {
  const st = results.sections.bigqueryStaged;
  if (!st) return undefined;
  const MB = 1_000_000;
  return {
    rate: st.rate,
    offeredPerSec: st.fed.perSec,
    fed: st.fed.sent,
    committed: st.committed,
    observedSec: st.observedSec,
    committedPerSec: st.committedPerSec,
    flush: st.flush,
    mergeIntervalMs: st.settings.mergeIntervalMs,
    writesInFlight: st.settings.stagedWritesInFlight,
    appendsInFlight: st.settings.stagedAppendsInFlight,
    maxAppendsInFlight: st.staged?.maxAppendsInFlight,
    appendRowsPerSec: st.appendRowsPerSec,
    appends: st.appends,
    failedAppends: st.failedAppends,
    rowsPerAppendMedian: st.rowsPerAppend.median,
    maxAppendMiB: st.maxAppendBytes / 2 ** 20,
    medianAppendMs: st.medianAppendMs,
    rowsPerMergeMedian: st.rowsPerMerge.median,
    rowsPerMergeMax: st.rowsPerMerge.max,
    maxMergesPer10s: st.maxMergesPer10s,
    maxConcurrentPerTable: st.maxConcurrentPerTable,
    maxRequestMB: st.maxRequestBytes / MB,
    merges: st.merges,
    medianMergeMs: st.medianMergeMs,
    peakRssMb: st.peakRssMb,
    limits: { concurrent: 2, mergesPer10s: 2, dmlPer10s: 25, requestMB: 10, appendMiB: 10 },
  };
}

/** The history section (--only history): the write path per million rows stored, and the end to end on top. */
export function buildHistory(results) {
  const h = results.sections.history;
  if (!h) return undefined;
  const step = (s, design) => ({ design, stored: s.stored, requests: s.requests, rowsPerSec: s.rowsPerSec, p50: s.upsert100P50Ms, p99: s.upsert100P99Ms, emptyP50: s.emptyUpsert100P50Ms ?? null, fileMB: s.fileMB, rssMB: s.rssMB, errors: s.errors });
  const filtered = h.filtered.steps.map((s) => step(s, 'filtered'));
  const merge = (h.merge?.steps ?? []).map((s) => step(s, 'merge'));
  // Medians over the rounds (full and empty alternate on the same file), each round's p95 kept.
  const e2e = (runs = []) => {
    const list = runs.filter(Boolean);
    if (list.length === 0) return undefined;
    return { p50: medianOf(list, 'delayMs.p50'), p95: medianOf(list, 'delayMs.p95'), p99: medianOf(list, 'delayMs.p99'), p95s: list.map((r) => r.delayMs.p95), probeMs: medianOf(list, 'meanProbeMs'), sinkPeakRssMb: max(list.map((r) => r.sinkPeakRssMb)), timed: median(list.map((r) => r.timed)), runs: list.length };
  };
  return { filtered, merge, errors: h.filtered.errors, failure: h.filtered.failure, firstError: h.filtered.firstError, target: h.filtered.target, stored: h.filtered.stored, e2e: { full: e2e(h.e2e.full), empty: e2e(h.e2e.empty), oldest: e2e(h.e2e.oldest), liveFrom: h.e2e.liveFrom }, gaps: h.gaps, erased: h.erased, backlog: h.backlog, bigquery: h.bigquery, chart: h.chart, failures: h.failures ?? [] };
}

function historyTargets(history) {
  const { filtered, e2e } = history;
  const first = filtered[0];
  const firstRate = filtered.find((s) => s.rowsPerSec !== null);
  const last = filtered.at(-1);
  const targets = [];
  const failed = history.errors > 0 || history.failure !== null || history.stored < history.target;
  targets.push({ id: 'history-no-failure', target: `History: ${fmt(history.target)} rows written with no failed write`, value: history.errors, shown: `${fmt(history.stored)} rows, ${fmt(history.errors)} failed writes${history.failure ? `, the last: ${history.failure}` : ''}`, met: !failed });
  const rate = last.rowsPerSec / firstRate.rowsPerSec;
  targets.push({ id: 'history-bulk', target: `History: bulk rate at ${fmt(last.stored)} rows ≥ 80 % of the first ${fmt(firstRate.stored)}'s`, value: rate, shown: `${fmt(last.rowsPerSec)} vs ${fmt(firstRate.rowsPerSec)} rows/s (${pct(rate)})`, met: rate >= 0.8 });
  // Against the empty warehouse probed at the same moments when the run has it (the machine's load moves over an hour), else against the run's first line.
  const sameMoment = last.emptyP50 !== null && last.emptyP50 !== undefined;
  const upsert = last.p50 / (sameMoment ? last.emptyP50 : first.p50);
  const against = sameMoment ? `an empty warehouse probed at the same moments (${ms(last.emptyP50)} ms)` : `at ${fmt(first.stored)} (${ms(first.p50)} ms)`;
  targets.push({ id: 'history-upsert', target: `History: 100-row upsert p50 at ${fmt(last.stored)} rows ≤ 1.5× ${sameMoment ? 'an empty warehouse\'s' : `at ${fmt(first.stored)}`}`, value: upsert, shown: `${ms(last.p50)} ms vs ${against}: ${fmt(upsert, 2)}×`, met: upsert <= 1.5 });
  const rss = last.rssMB / firstRate.rssMB - 1;
  targets.push({ id: 'history-rss', target: `History: writer RSS at ${fmt(last.stored)} rows within 20 % of at ${fmt(firstRate.stored)}, and < 600 MB`, value: last.rssMB, shown: `${fmt(last.rssMB)} vs ${fmt(firstRate.rssMB)} MB (${rss >= 0 ? '+' : ''}${pct(rss)})`, met: rss <= 0.2 && last.rssMB < 600 });
  if (e2e.full && e2e.empty) {
    const ratio = e2e.full.p95 / e2e.empty.p95;
    const rounds = e2e.full.runs > 1 ? `, medians of ${e2e.full.runs} alternating runs: ${e2e.full.p95s.map((v) => ms(v)).join(', ')} vs ${e2e.empty.p95s.map((v) => ms(v)).join(', ')}` : '';
    targets.push({ id: 'history-e2e', target: `History: end-to-end p95 with ${fmt(history.stored)} rows stored < 1 s and ≤ 1.5× empty`, value: e2e.full.p95, shown: `${ms(e2e.full.p95)} vs ${ms(e2e.empty.p95)} ms (${fmt(ratio, 2)}×${rounds})`, met: e2e.full.p95 < 1000 && ratio <= 1.5 });
  }
  if (history.gaps) {
    const g = history.gaps;
    targets.push({ id: 'history-gaps', target: `History: the call_gaps count over ${fmt(g.callEventsRows)} call_events rows < 1 s on DuckDB`, value: g.countP50Ms, shown: `p50 ${ms(g.countP50Ms)} ms (list of 200: ${ms(g.listP50Ms)} ms; ${fmt(g.callbackRows)} callbacks)`, met: g.countP50Ms < 1000 });
  }
  if (history.erased) {
    const { ordinary, erased, ratio, count } = history.erased;
    const whole = !ordinary.incomplete && !erased.incomplete;
    targets.push({ id: 'history-erased', target: `History: ${fmt(count)} calls of an erased tenant through the sink at ≥ 80 % of ordinary traffic's rate`, value: ratio, shown: `${fmt(erased.recordsPerSec)} vs ${fmt(ordinary.recordsPerSec)} records/s (${pct(ratio)}); peak RSS ${fmt(erased.peakRssMb)} vs ${fmt(ordinary.peakRssMb)} MB${whole ? '' : '; a pass did not drain'}`, met: whole && ratio >= 0.8 });
  }
  if (history.backlog) {
    const b = history.backlog;
    const drained = b.committed >= b.records && !b.stalled && !b.killed;
    targets.push({ id: 'history-backlog', target: `History: a backlog of ${fmt(b.records)} webhooks of ${fmt(b.meanRecordBytes / 1024)} KB drains under 1 GB RSS`, value: b.peakRssMb, shown: `${fmt(b.committed)} of ${fmt(b.records)} drained in ${fmt(b.seconds, 1)} s (${fmt(b.recordsPerSec)} records/s), peak RSS ${fmt(b.peakRssMb)} MB${b.stalled ? '; stalled' : ''}${b.killed ? '; killed at the cap' : ''}`, met: drained && b.peakRssMb < 1024 });
  }
  // A part that failed (run.js kept the others): its own target, unmet, saying why.
  for (const f of history.failures) {
    const id = `history-failed-${f.part.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
    targets.push({ id, target: `History: ${f.part} runs to the end`, value: null, shown: `failed: ${f.error.replace(/\s+/g, ' ').slice(0, 300)}`, met: false });
  }
  return targets;
}

export function buildTargets(rows, bq, staged) {
  const byId = (id) => rows.find((r) => r.id === id);
  const targets = [];
  const r1 = byId('R1');
  const r3 = byId('R3');
  if (r1 && r3) {
    const half = rows.find((r) => r.half);
    targets.push({ id: 'receiver-throughput', target: 'Receiver ≥ 40 % of the bare node:http throughput (R3 / R1)', value: r3.ratio, shown: pct(r3.ratio), met: r3.ratio >= 0.4 });
    targets.push({ id: 'receiver-throughput-60', target: 'Receiver ≥ 60 % of the bare node:http throughput (R3 / R1; the second stage)', value: r3.ratio, shown: pct(r3.ratio), met: r3.ratio >= 0.6 });
    targets.push({ id: 'receiver-p99', target: 'Receiver p99 < 25 ms at half its saturation rate', value: half?.p99, shown: `${ms(half?.p99)} ms at ${fmt(half?.offered)}/s`, met: half?.p99 < 25 });
    targets.push({ id: 'receiver-rss', target: 'Receiver peak RSS < 200 MB at saturation', value: r3.peakRssMb, shown: `${fmt(r3.peakRssMb)} MB`, met: r3.peakRssMb < 200 });
    const traced = byId('R3t');
    if (traced) {
      targets.push({ id: 'receiver-tracing', target: 'Receiver with tracing on (every webhook sampled) costs < 5 % of its throughput (R3t / R3 > 95 %)', value: traced.ratio, shown: `${pct(traced.ratio)} of R3`, met: traced.ratio > 0.95 });
    }
    const sampled = byId('R3s');
    if (sampled) {
      targets.push({ id: 'receiver-tracing-sampled', target: 'Receiver with tracing on, one webhook in ten sampled, costs < 5 % (R3s / R3 > 95 %)', value: sampled.ratio, shown: `${pct(sampled.ratio)} of R3`, met: sampled.ratio > 0.95 });
    }
  }
  const sinks = rows.filter((r) => r.kind === 'sink');
  if (sinks.length > 0) {
    const first = sinks[0];
    targets.push({ id: 'sink-ratio', target: `Sink ≥ 50 % of the raw consumer (${fmt(first.backlog)} backlog)`, value: first.ratio, shown: pct(first.ratio), met: first.ratio >= 0.5 });
    targets.push({ id: 'sink-rate', target: `Sink ≥ 30,000 records/s (${fmt(first.backlog)} backlog)`, value: first.throughput, shown: `${fmt(first.throughput)}/s`, met: first.throughput >= 30_000 });
    if (sinks.length > 1) {
      const last = sinks.at(-1);
      const growth = last.peakRssMb / first.peakRssMb - 1;
      targets.push({
        id: 'sink-rss',
        target: `Sink peak RSS at ${fmt(last.backlog)} backlog within 20 % of that at ${fmt(first.backlog)}`,
        value: growth,
        shown: `${fmt(last.peakRssMb)} vs ${fmt(first.peakRssMb)} MB (${growth >= 0 ? '+' : ''}${pct(growth)})`,
        met: growth <= 0.2,
      });
    }
  }
  const e1 = byId('E1');
  if (e1) {
    targets.push({ id: 'e2e-p95', target: 'End-to-end p95 < 1 s at 1,000 webhooks/s', value: e1.p95, shown: `${ms(e1.p95)} ms`, met: e1.p95 < 1000 });
    targets.push({ id: 'e2e-p99', target: 'End-to-end p99 < 250 ms at 1,000 webhooks/s', value: e1.p99, shown: `${ms(e1.p99)} ms`, met: e1.p99 < 250 });
  }
  if (bq) {
    targets.push({ id: 'bq-concurrent', target: 'BigQuery: ≤ 2 MERGEs in flight per table', value: bq.maxConcurrentPerTable, shown: fmt(bq.maxConcurrentPerTable), met: bq.maxConcurrentPerTable <= 2 });
    targets.push({ id: 'bq-dml', target: 'BigQuery: ≤ 25 DML statements per 10 s per table', value: bq.maxMergesPer10s, shown: fmt(bq.maxMergesPer10s), met: bq.maxMergesPer10s <= 25 });
    targets.push({ id: 'bq-request', target: 'BigQuery: MERGE request ≤ 10 MB', value: bq.maxRequestMB, shown: `${fmt(bq.maxRequestMB, 1)} MB`, met: bq.maxRequestMB <= 10 });
  }
  if (staged) {
    targets.push({
      id: 'bqs-append-rate',
      target: `BigQuery staged: append throughput ≥ ${fmt(staged.rate)} rows/s into one table`,
      value: staged.appendRowsPerSec,
      shown: `${fmt(staged.appendRowsPerSec)} rows/s (${fmt(staged.offeredPerSec)}/s offered)`,
      met: staged.appendRowsPerSec >= staged.rate,
    });
    targets.push({ id: 'bqs-merges', target: 'BigQuery staged: ≤ 2 MERGEs per 10 s per table', value: staged.maxMergesPer10s, shown: fmt(staged.maxMergesPer10s), met: staged.maxMergesPer10s <= 2 });
    targets.push({ id: 'bqs-concurrent', target: 'BigQuery staged: ≤ 2 MERGEs in flight per table', value: staged.maxConcurrentPerTable, shown: fmt(staged.maxConcurrentPerTable), met: staged.maxConcurrentPerTable <= 2 });
    const largest = Math.max(staged.maxAppendMiB * 2 ** 20, staged.maxRequestMB * 1_000_000) / 1_000_000;
    targets.push({ id: 'bqs-request', target: 'BigQuery staged: no request over 10 MB (appends and MERGEs)', value: largest, shown: `${fmt(largest, 2)} MB`, met: largest <= 10 });
  }
  const t2 = byId('T2');
  if (t2) targets.push({ id: 'trace-latency', target: `callstream trace answers in about a second (p95 < 1 s, ${fmt(t2.indexed)} requests indexed)`, value: t2.p95, shown: `${ms(t2.p95)} ms`, met: t2.p95 < 1000 });
  return targets;
}

function rssText(v) {
  if (v && typeof v === 'object') return `rcv ${fmt(v.receiver)} / sink ${fmt(v.sink)}`;
  return fmt(v);
}

export function formatReport(results) {
  const rows = buildRows(results);
  const bigquery = buildBigQuery(results);
  const bigqueryStaged = buildBigQueryStaged(results);
  const history = buildHistory(results);
  const targets = [...buildTargets(rows, bigquery, bigqueryStaged), ...(history ? historyTargets(history) : [])];
  const m = results.machine;
  const lines = [];
  lines.push(`callstream benchmark (${results.mode}), ${results.startedAt}, ${results.durationSec} s`);
  lines.push('');
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.os}; Node ${m.node}, ${m.java}; Kafka ${m.kafka} (one local broker, KRaft), kafkajs ${m.kafkajs}, DuckDB ${m.duckdb}. ` +
      `Load average at start ${m.loadAverageAtStart.join(' ')}, at end ${m.loadAverageAtEnd?.join(' ') ?? '?'} (shared machine).`,
  );
  lines.push('');
  if (rows.length > 0) {
    lines.push('| # | Measurement | Load | Throughput (median) | p50 ms | p95 ms | p99 ms | Peak RSS MB | vs baseline | Runs |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  }
  for (const r of rows) {
    const ratio = r.ratioNote === 'baseline' ? 'baseline' : Number.isFinite(r.ratio) ? `${pct(r.ratio)} ${r.ratioNote}` : r.ratioNote;
    lines.push(`| ${r.id} | ${r.measurement} | ${r.load} | ${fmt(r.throughput)} ${r.unit} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${rssText(r.peakRssMb)} | ${ratio} | ${r.runs} |`);
  }
  if (bigquery) {
    lines.push('');
    lines.push(
      `BigQuery path on the emulator (shape, not speed): ${fmt(bigquery.rate)} events/s for ${fmt(results.plan.bigquery.seconds)} s, flush ${fmt(bigquery.flush.maxRecords)} records / ${fmt(bigquery.flush.intervalMs)} ms (connectors/bigquery-sink.json); ` +
        `${fmt(bigquery.committed)} of ${fmt(bigquery.fed)} events written within ${fmt(bigquery.observedSec)} s; median MERGE took ${fmt(bigquery.medianMergeMs)} ms on the emulator.`,
    );
    lines.push('');
    lines.push('| # | BigQuery measurement | Value | BigQuery limit |');
    lines.push('| --- | --- | --- | --- |');
    lines.push(`| B1 | Rows per MERGE (median / max) | ${fmt(bigquery.rowsPerMergeMedian)} / ${fmt(bigquery.rowsPerMergeMax)} | – |`);
    lines.push(`| B2 | MERGE statements per 10 s per table (max) | ${fmt(bigquery.maxMergesPer10s)} | 25 DML per 10 s per table |`);
    lines.push(`| B3 | MERGEs in flight per table (max) | ${fmt(bigquery.maxConcurrentPerTable)} | 2 concurrent mutating DML |`);
    lines.push(`| B4 | Largest MERGE request | ${fmt(bigquery.maxRequestMB, 2)} MB | 10 MB |`);
    lines.push(`| B5 | MERGE statements observed | ${fmt(bigquery.merges)} | – |`);
  }
  if (bigqueryStaged) {
    const st = bigqueryStaged;
    lines.push('');
    lines.push(
      `BigQuery staged mode on the emulator: ${fmt(st.rate)} events/s wanted, ${fmt(st.offeredPerSec)}/s offered by the producer for ${fmt(results.plan.bigqueryStaged.seconds)} s into one table; ` +
        `flush ${fmt(st.flush.maxRecords)} records / ${fmt(st.flush.intervalMs)} ms, mergeIntervalMs ${fmt(st.mergeIntervalMs)}, ${fmt(st.writesInFlight)} flushes in flight (connectors/bigquery-staged-sink.json); ` +
        `${fmt(st.committed)} of ${fmt(st.fed)} events in the table and committed within ${fmt(st.observedSec)} s (${fmt(st.committedPerSec)}/s); median append ${fmt(st.medianAppendMs)} ms, median MERGE ${fmt(st.medianMergeMs)} ms on the emulator.`,
    );
    lines.push('');
    lines.push('| # | BigQuery staged measurement | Value | BigQuery limit |');
    lines.push('| --- | --- | --- | --- |');
    lines.push(`| BS1 | Append throughput | ${fmt(st.appendRowsPerSec)} rows/s (${fmt(st.appends)} appends, median ${fmt(st.rowsPerAppendMedian)} rows; ${fmt(st.failedAppends)} failed) | Storage Write API: 3 GB/s per project (US/EU), 300 MB/s elsewhere |`);
    lines.push(`| BS2 | Rows per MERGE (median / max) | ${fmt(st.rowsPerMergeMedian)} / ${fmt(st.rowsPerMergeMax)} | none from the request size |`);
    lines.push(`| BS3 | MERGE statements per 10 s per table (max) | ${fmt(st.maxMergesPer10s)} | target 2; BigQuery 25 DML per 10 s |`);
    lines.push(`| BS4 | MERGEs in flight per table (max) | ${fmt(st.maxConcurrentPerTable)} | 2 concurrent mutating DML |`);
    lines.push(`| BS5 | Largest append request | ${fmt(st.maxAppendMiB, 2)} MiB | 10 MiB per AppendRows request |`);
    lines.push(`| BS6 | Largest MERGE request | ${fmt(st.maxRequestMB, 3)} MB | 10 MB |`);
    lines.push(`| BS7 | MERGE statements observed | ${fmt(st.merges)} | – |`);
    lines.push(`| BS8 | Appends in flight on one table's stream (max) | ${fmt(st.maxAppendsInFlight)} of ${fmt(st.appendsInFlight)} allowed (stagedAppendsInFlight) | – |`);
  }
  if (history) {
    lines.push('');
    lines.push(`History on the DuckDB write path (DuckDbWarehouse.upsert, batches of 5,000 call.completed rows with every tenth a redelivery, then their requests rows; a probe is one flush of 100 deliveries: its call_events and requests upserts). Chart: ${history.chart}`);
    lines.push('');
    lines.push('| Design | call_events rows | requests rows | Bulk rows/s (since the last line) | 100-row flush p50 / p99 ms | Empty warehouse p50 ms, same moments | File MB | Peak RSS MB | Failed writes |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of [...history.filtered, ...history.merge]) {
      lines.push(`| ${s.design === 'filtered' ? 'key filter (now)' : 'whole-table MERGE (before)'} | ${fmt(s.stored)} | ${fmt(s.requests)} | ${s.rowsPerSec === null ? '–' : fmt(s.rowsPerSec)} | ${ms(s.p50)} / ${ms(s.p99)} | ${s.emptyP50 === null ? '–' : ms(s.emptyP50)} | ${fmt(s.fileMB)} | ${fmt(s.rssMB)} | ${fmt(s.errors)} |`);
    }
    const e = history.e2e;
    const live = e.liveFrom ? `calls dated from ${e.liveFrom}, after the history's newest` : 'calls dated as the history';
    for (const [name, run, dated] of [['holding the history', e.full, live], ['empty', e.empty, live], ['holding the history', e.oldest, "calls dated at the history's start (a replay of old calls)"]]) {
      if (run) lines.push(`\nEnd to end at ${fmt(results.plan.history.e2e.rate)} webhooks/s into a warehouse ${name}, ${dated}${run.runs > 1 ? `, medians of ${run.runs} runs (p95 each: ${run.p95s.map((v) => ms(v)).join(', ')})` : ''}: p50 ${ms(run.p50)}, p95 ${ms(run.p95)}, p99 ${ms(run.p99)} ms; a probe query ${ms(run.probeMs)} ms; sink peak RSS ${fmt(run.sinkPeakRssMb)} MB.`);
    }
    if (history.erased) {
      lines.push('');
      lines.push(`An erased tenant through the sink: ${fmt(history.erased.count)} new calls per pass drained from Kafka by \`callstream sink\`, passes alternating, medians.`);
      lines.push('');
      lines.push('| Tenant | Records/s | Peak RSS MB | Rows written | Refused as erased |');
      lines.push('| --- | --- | --- | --- | --- |');
      for (const [name, t] of [['ordinary', history.erased.ordinary], ['erased', history.erased.erased]]) lines.push(`| ${name} (${t.tenant}) | ${fmt(t.recordsPerSec)} | ${fmt(t.peakRssMb)} | ${t.rowsWritten.map((n) => fmt(n)).join(', ')} | ${t.refusedAsErased.map((n) => fmt(n)).join(', ')} |`);
    }
    if (history.bigquery) {
      lines.push('');
      lines.push('BigQuery on the emulator (BigQueryWarehouse / StagedBigQueryWarehouse.upsert, the same rows; a probe is one flush of 100 deliveries). The stored history spans a year of event times; the probes write calls of the newest day. The emulator cannot report bytes scanned: the filter each probe MERGE carried on call_events, and the rows stored in the partitions it names, bound what BigQuery would read and bill. The emulator itself does not prune partitions, and its speed is not BigQuery\'s.');
      lines.push('');
      lines.push('| Mode | call_events rows | Bulk rows/s | 100-row flush p50 / p99 ms | MERGE p50 ms | Partition filter on the target | Rows in the partitions it names | Failed writes |');
      lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const run of history.bigquery) {
        const mode = run.mode === 'merge' ? `merge, mergeLookbackDays ${run.lookbackDays}` : 'staged';
        for (const s of run.steps) lines.push(`| ${mode} | ${fmt(s.stored)} | ${s.rowsPerSec === undefined ? '–' : fmt(s.rowsPerSec)} | ${ms(s.p50)} / ${ms(s.p99)} | ${s.mergeP50Ms === null ? '–' : ms(s.mergeP50Ms)} | ${s.filters.map((f) => `\`${f}\``).join(', ')} | ${fmt(s.rowsInBound)} of ${fmt(s.rowsTotal)} (${pct(s.rowsInBound / s.rowsTotal)}) | ${fmt(s.errors)} |`);
        if (run.failure) lines.push(`| ${mode} | stopped: ${run.failure.slice(0, 200)} | | | | | | |`);
      }
    }
    if (history.backlog) {
      const b = history.backlog;
      lines.push(`\nA backlog of ${fmt(b.records)} webhooks of ${fmt(b.meanRecordBytes / 1024)} KB (${fmt(b.backlogMB)} MB): ${fmt(b.committed)} drained in ${fmt(b.seconds, 1)} s, peak RSS ${fmt(b.peakRssMb)} MB${b.stalled ? ', then stalled' : ''}.${Object.keys(b.problems ?? {}).length > 0 ? ` The sink said: ${Object.entries(b.problems).slice(0, 3).map(([m, n]) => `${m.slice(0, 160)} (×${n})`).join('; ')}` : ''}`);
    }
  }
  lines.push('');
  lines.push('| Target | Measured | Met |');
  lines.push('| --- | --- | --- |');
  for (const t of targets) lines.push(`| ${t.target} | ${t.shown} | ${t.met ? 'yes' : '**no**'} |`);
  return { text: lines.join('\n'), rows, bigquery, bigqueryStaged, history, targets };
}
