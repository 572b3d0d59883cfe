import { GAP_KINDS, type GapKind } from '../warehouse/views/index.js';

/**
 * Reading the call_gaps view (src/warehouse/views/call-gaps.ts): what `callstream gaps` lists
 * and what the sink's gauge counts. The view bounds itself to its window of event time; these
 * queries narrow it further, never widen it.
 */

/** Where the view is read: a way to ask, and the engine's spelling of the view's name and of times. */
export interface GapsSource {
  ask(sql: string): Promise<Record<string, unknown>[]>;
  /** The view's reference (BigQuery: project.dataset.prefixcall_gaps). */
  view: string;
  epochMs(column: string): string;
  timestamp(ms: number): string;
}

/** One suspect call, times as epoch milliseconds. */
export interface Gap {
  kind: GapKind;
  call_sid: string;
  call_id: string | null;
  tenant_id: number | null;
  vendor_slug: string | null;
  last_status: string | null;
  last_status_at: number | null;
  talk_seconds: number | null;
  reported_at: number | null;
  evidence_at: number;
  age_minutes: number;
}

export interface GapQuery {
  /** Only gaps whose evidence is at or after this (epoch ms). */
  sinceMs?: number;
  kinds?: readonly GapKind[];
  /** At most this many, oldest evidence first. */
  limit?: number;
}

const TIME_COLUMNS = ['last_status_at', 'reported_at', 'evidence_at'] as const;
const NUMBER_COLUMNS = ['tenant_id', 'talk_seconds', 'age_minutes'] as const;

function where(source: GapsSource, query: GapQuery): string {
  const kinds = query.kinds ?? GAP_KINDS;
  for (const kind of kinds) if (!GAP_KINDS.includes(kind)) throw new Error(`unknown gap kind ${kind}`);
  const conditions = [`kind IN (${kinds.map((k) => `'${k}'`).join(', ')})`];
  if (query.sinceMs !== undefined) conditions.push(`evidence_at >= ${source.timestamp(Math.trunc(query.sinceMs))}`);
  return conditions.join(' AND ');
}

/** The gaps, oldest evidence first. */
export async function listGaps(source: GapsSource, query: GapQuery = {}): Promise<Gap[]> {
  const columns = ['kind', 'call_sid', 'call_id', 'tenant_id', 'vendor_slug', 'last_status', ...TIME_COLUMNS.map((c) => `${source.epochMs(c)} AS ${c}`), 'talk_seconds', 'age_minutes'];
  const limit = query.limit === undefined ? '' : ` LIMIT ${Math.max(0, Math.trunc(query.limit))}`;
  const rows = await source.ask(`SELECT ${columns.join(', ')} FROM ${source.view} WHERE ${where(source, query)} ORDER BY evidence_at, kind, call_sid${limit}`);
  return rows.map((row) => {
    const gap = { ...row } as Record<string, unknown>;
    for (const c of [...TIME_COLUMNS, ...NUMBER_COLUMNS]) gap[c] = row[c] === null || row[c] === undefined ? null : Number(row[c]);
    return gap as unknown as Gap;
  });
}

/** How many gaps of each kind (every kind present, 0 when none). */
export async function countGaps(source: GapsSource, query: Omit<GapQuery, 'limit'> = {}): Promise<Record<GapKind, number>> {
  const rows = await source.ask(`SELECT kind, COUNT(*) AS n FROM ${source.view} WHERE ${where(source, query)} GROUP BY kind`);
  const counts = Object.fromEntries(GAP_KINDS.map((k) => [k, 0])) as Record<GapKind, number>;
  for (const row of rows) counts[row.kind as GapKind] = Number(row.n);
  return counts;
}

const WHAT_IT_MEANS: Record<GapKind, string> = {
  unreported: 'the provider says the call ended; no call.completed came (the sender gave up, or its deliveries were refused)',
  no_provider: 'a call.completed came; no vendor sent a callback for its call_sid',
  stuck: 'the provider\'s last status is not terminal',
};

/** The gaps for people: a line per call, what each kind means, and what to run next. */
export function formatGaps(gaps: readonly Gap[], counts: Record<GapKind, number>, since?: number): string {
  const span = since === undefined ? 'in the call_gaps window' : `since ${new Date(since).toISOString()}`;
  if (gaps.length === 0) return `No gaps ${span}: every call the provider reported has its call.completed, and the reverse.`;
  const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace('.000Z', 'Z'));
  const lines = [`${gaps.length} gap(s) ${span}: ${GAP_KINDS.filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`).join(', ')}`, ''];
  for (const g of gaps) {
    const who = [g.call_id && `call ${g.call_id}`, g.tenant_id !== null && `tenant ${g.tenant_id}`, g.vendor_slug && `vendor ${g.vendor_slug}`].filter(Boolean).join(', ');
    const status = g.last_status ? ` last status ${g.last_status} at ${iso(g.last_status_at)}` : ` reported at ${iso(g.reported_at)}`;
    const talk = g.talk_seconds === null ? '' : `, talk ${g.talk_seconds} s`;
    lines.push(`  ${g.kind.padEnd(11)} ${g.call_sid}  ${g.age_minutes} min:${status}${talk}${who ? ` (${who})` : ''}`);
  }
  lines.push('', ...GAP_KINDS.filter((k) => counts[k] > 0).map((k) => `${k}: ${WHAT_IT_MEANS[k]}.`));
  lines.push(`Next: callstream trace ${gaps[0].call_sid}   (each call's requests, refusals and rows)`);
  return lines.join('\n');
}
