import type { CallTrace } from './lookup.js';
import type { Flow } from '../config/index.js';
import type { EventTableName } from '../warehouse/index.js';

/** Where each flow's records live, to name them in the story. */
export interface TraceTopics {
  raw: Record<Flow, string>;
  deadLetter: Record<Flow, string>;
  /** The topic each event table's rows came from. */
  rows: Record<EventTableName, string>;
}

/** One line of the story: when, what, and the details. */
export interface TimelineEntry {
  at: number;
  what: 'request' | 'dead letter' | 'row';
  detail: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const place = (topic: string, partition: number, offset: number) => `${topic} ${partition}@${offset}`;

/** The story in time order: every request, every dead letter, and each table row's current version. */
export function timeline(trace: CallTrace, topics: TraceTopics): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const r of trace.requests) {
    const outcome = r.error_code ? `${r.status} ${r.error_code}` : `${r.status} accepted`;
    const verified = r.verified_by ? `verified by ${r.verified_by}` : 'no credential checked';
    const key = r.entity_key ? ` key ${r.entity_key}` : '';
    const raw = topics.raw[r.flow as Flow] ?? `${r.flow} audit topic`;
    const traced = r.trace_id ? `; trace_id ${r.trace_id}` : '';
    entries.push({ at: r.received_at, what: 'request', detail: `${r.flow} ${r.method} ${r.route} -> ${outcome};${key} ${verified}; request ${r.request_id}; ${r.body_bytes} bytes at ${place(raw, r.kafka_partition, r.kafka_offset)}${traced}` });
  }
  for (const d of trace.dead_letters) {
    const dlq = topics.deadLetter[d.flow as Flow] ?? `${d.flow} dead-letter topic`;
    entries.push({
      at: d.event_time,
      what: 'dead letter',
      detail: `${d.error_code}: ${d.reason.slice(0, 200)}; record ${place(d.source_topic, d.source_partition, d.source_offset)}, kept at ${place(dlq, d.kafka_partition, d.kafka_offset)}; request ${d.request_id}`,
    });
  }
  for (const row of trace.rows) {
    const key = Object.entries(row.key).map(([k, v]) => `${k}=${v}`).join(' ');
    const topic = topics.rows[row.table] ?? row.table;
    // The same request dead-lettered from another record: this version came back through `callstream redrive` (or a replay).
    const letter = trace.dead_letters.find((d) => d.request_id === row.request_id && !(d.source_topic === topic && d.source_partition === row.kafka_partition && d.source_offset === row.kafka_offset));
    const redriven = letter ? `; redriven: stored after its dead letter at ${place(topics.deadLetter[letter.flow as Flow] ?? `${letter.flow} dead-letter topic`, letter.kafka_partition, letter.kafka_offset)}` : '';
    entries.push({
      at: row.ingested_at,
      what: 'row',
      detail: `${row.table} ${key}: current version from request ${row.request_id} (received ${iso(row.received_at)}), record ${place(topic, row.kafka_partition, row.kafka_offset)} won${redriven}`,
    });
  }
  return entries.sort((a, b) => a.at - b.at);
}

/** The text a person reads: a summary line, then the timeline. */
export function formatTrace(trace: CallTrace, topics: TraceTopics): string {
  const { call_ids, call_sids } = trace.joined;
  const refused = trace.requests.filter((r) => r.status >= 300).length;
  const summary = [
    `trace ${trace.subject}:`,
    call_ids.length > 0 ? `call ${call_ids.join(', ')}` : undefined,
    call_sids.length > 0 ? `call_sid ${call_sids.join(', ')}` : undefined,
    `${trace.requests.length} request${trace.requests.length === 1 ? '' : 's'} (${refused} refused)`,
    `${trace.dead_letters.length} dead letter${trace.dead_letters.length === 1 ? '' : 's'}`,
    `${trace.rows.length} row${trace.rows.length === 1 ? '' : 's'}`,
  ].filter(Boolean);
  const lines = timeline(trace, topics).map((e) => `${iso(e.at)}  ${e.what.padEnd(11)}  ${e.detail}`);
  return [summary.join(' '), '', ...(lines.length > 0 ? lines : ['(nothing found)'])].join('\n');
}
