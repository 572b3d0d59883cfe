import { countGaps, formatGaps, listGaps, type GapsSource } from '../../gaps/index.js';
import { createLogger } from '../../logger.js';
import { openBigQuerySource, openDuckDbSource } from '../../trace/index.js';
import type { GapKind } from '../../warehouse/views/index.js';
import { configure } from './configure.js';

export interface GapsCommandOptions {
  since?: Date;
  kinds?: GapKind[];
  json?: boolean;
  connector?: string;
  limit: number;
}

/**
 * `callstream gaps`: the calls of the call_gaps view (the provider says a call ended and no
 * call.completed came, or the reverse, or a call stuck), oldest first, with what to run next.
 * Exit 1 when any is found, so that a cron job can page; 0 when none.
 */
export async function gaps(options: GapsCommandOptions): Promise<number> {
  const { config, bigquery } = configure({ connector: options.connector });
  const logger = createLogger({ level: /^(debug|trace)$/.test(config.logLevel) ? config.logLevel : 'silent', destination: process.stderr });
  const opened = config.warehouse === 'bigquery' && bigquery ? await openBigQuerySource(bigquery, logger) : await openDuckDbSource(config);
  try {
    const { ask, epochMs, timestamp, table } = opened.source;
    const source: GapsSource = { ask, epochMs, timestamp, view: table('call_gaps') };
    const query = { sinceMs: options.since?.getTime(), kinds: options.kinds };
    const counts = await countGaps(source, query);
    const list = await listGaps(source, { ...query, limit: options.limit });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    if (options.json) console.log(JSON.stringify({ since: options.since?.toISOString() ?? null, counts, total, gaps: list.map(jsonGap) }, null, 2));
    else console.log(formatGaps(list, counts, query.sinceMs));
    if (!options.json && list.length < total) console.error(`callstream gaps: showing the oldest ${list.length} of ${total} (--limit)`);
    return total > 0 ? 1 : 0;
  } finally {
    await opened.close();
  }
}

/** A gap with its times as ISO text, for --json. */
function jsonGap(gap: Awaited<ReturnType<typeof listGaps>>[number]) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { ...gap, last_status_at: iso(gap.last_status_at), reported_at: iso(gap.reported_at), evidence_at: iso(gap.evidence_at), trace: `callstream trace ${gap.call_sid}` };
}
