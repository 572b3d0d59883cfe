import { createLogger } from '../../logger.js';
import { formatTrace, traceCall, openBigQuerySource, openDuckDbSource, type TraceTopics } from '../../trace/index.js';
import type { Config } from '../../config/index.js';
import { configure } from './configure.js';

export interface TraceCommandOptions {
  json?: boolean;
  since?: Date;
  connector?: string;
}

/** BigQuery scans every partition in range: without --since, a trace there looks this far back. */
export const BIGQUERY_DEFAULT_DAYS = 90;

/**
 * `callstream trace <id>`: one call's story across both flows, from the warehouse's tables
 * (the requests and dead_letters index of the audit trail, and the event tables). Exit 0 when
 * something was found, 1 when nothing was.
 */
export async function trace(subject: string, options: TraceCommandOptions): Promise<number> {
  const { config, bigquery } = configure({ connector: options.connector });
  const logger = createLogger({ level: /^(debug|trace)$/.test(config.logLevel) ? config.logLevel : 'silent', destination: process.stderr });
  const opened = config.warehouse === 'bigquery' && bigquery ? await openBigQuerySource(bigquery, logger) : await openDuckDbSource(config);
  try {
    const sinceMs = options.since?.getTime() ?? (opened.source.kind === 'bigquery' ? Date.now() - BIGQUERY_DEFAULT_DAYS * 86_400_000 : undefined);
    const story = await traceCall(opened.source, subject, { sinceMs });
    console.log(options.json ? JSON.stringify(story, null, 2) : formatTrace(story, traceTopics(config)));
    const found = story.requests.length + story.dead_letters.length + story.rows.length > 0;
    if (!found) console.error(`callstream trace: nothing about ${subject} in the warehouse${sinceMs === undefined ? '' : ` since ${new Date(sinceMs).toISOString()}`} (CALLSTREAM_REQUEST_LOG on? the right --connector?)`);
    return found ? 0 : 1;
  } finally {
    await opened.close();
  }
}

function traceTopics(config: Config): TraceTopics {
  return {
    raw: { callaro: config.topicRaw, telephony: config.topicTelephonyRaw },
    deadLetter: { callaro: config.topicDeadLetter, telephony: config.topicTelephonyDeadLetter },
    rows: { call_events: config.topicEvents, campaign_events: config.topicEvents, compliance_events: config.topicEvents, telephony_callbacks: config.topicTelephony },
  };
}
