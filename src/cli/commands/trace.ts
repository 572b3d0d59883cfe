import { AvroCodec, schemasDir } from '../../codec/index.js';
import { FLOWS, flowTopic, type Config, type Flow, type FlowTopicRole } from '../../config/index.js';
import { createKafka } from '../../kafka/index.js';
import { createLogger, type Logger } from '../../logger.js';
import { EVENT_TABLE_FLOW } from '../../warehouse/index.js';
import { connectSchemaRegistry } from '../../pipeline/schema-registry.js';
import { fetchBodies, formatBodies, formatTrace, openBigQuerySource, openDuckDbSource, traceCall, type CallTrace, type FetchedRecord, type TraceTopics } from '../../trace/index.js';
import { startProgress } from '../progress.js';
import { configure } from './configure.js';

export interface TraceCommandOptions {
  json?: boolean;
  since?: Date;
  connector?: string;
  /** Also fetch each request's audit record and each dead letter from its topic, by partition and offset. */
  bodies?: boolean;
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
    const records = options.bodies ? await fetchWithProgress(config, logger, story) : undefined;
    if (options.json) console.log(JSON.stringify(records ? { ...story, records } : story, null, 2));
    else console.log(formatTrace(story, traceTopics(config)) + (records && records.length > 0 ? `\n\n${formatBodies(records)}` : ''));
    const found = story.requests.length + story.dead_letters.length + story.rows.length > 0;
    if (!found) console.error(`callstream trace: nothing about ${subject} in the warehouse${sinceMs === undefined ? '' : ` since ${new Date(sinceMs).toISOString()}`} (CALLSTREAM_REQUEST_LOG on? the right --connector?)`);
    return found ? 0 : 1;
  } finally {
    await opened.close();
  }
}

/** --bodies: the records behind the story, read by place (no scan), with progress on stderr. */
async function fetchWithProgress(config: Config, logger: Logger, story: CallTrace): Promise<FetchedRecord[]> {
  const kafka = createKafka(config, logger, '-trace');
  const codec = AvroCodec.fromDirectory(schemasDir());
  await connectSchemaRegistry(codec, config, logger, { writes: false }); // reads writer schemas, registers nothing
  const topics = traceTopics(config);
  let progress: ReturnType<typeof startProgress> | undefined;
  try {
    return await fetchBodies({ kafka, codec, logger, topics }, story, {
      onProgress: (found, total) => {
        progress ??= startProgress({ label: 'trace: fetching records', total });
        progress.update(found);
      },
    });
  } finally {
    progress?.stop();
  }
}

function traceTopics(config: Config): TraceTopics {
  return {
    raw: byFlow(config, 'raw'),
    deadLetter: byFlow(config, 'deadLetter'),
    rows: Object.fromEntries(Object.entries(EVENT_TABLE_FLOW).map(([table, flow]) => [table, flowTopic(config, flow, 'events').topic])) as TraceTopics['rows'],
  };
}

/** One topic of a role per flow (each flow's audit or dead-letter topic). */
function byFlow(config: Config, role: FlowTopicRole): Record<Flow, string> {
  return Object.fromEntries(FLOWS.map((flow) => [flow, flowTopic(config, flow, role).topic])) as Record<Flow, string>;
}
