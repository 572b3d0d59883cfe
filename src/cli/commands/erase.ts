import { existsSync } from 'node:fs';
import type { BigQuerySettings, Config } from '../../config/index.js';
import { erase, erasureRecord, formatReceipt, readRecordedErasure, type EraseReceipt, type ErasureSubject } from '../../erasure/index.js';
import { CallstreamError } from '../../errors.js';
import { connectKafkaClient, createKafka, ensureTopics, IdempotentProducer, Publisher } from '../../kafka/index.js';
import { createLogger, type Logger } from '../../logger.js';
import { duckDbPath } from '../../config/index.js';
import { querySocketPath } from '../../query-socket/index.js';
import { eraseOverSocket } from '../../query-socket/query-socket.js';
import { PiiPolicy } from '../../privacy/pii.js';
import { createWarehouse, TABLES } from '../../warehouse/index.js';
import { configure } from './configure.js';

export interface EraseCommandOptions {
  subject: ErasureSubject;
  dryRun: boolean;
  json: boolean;
  connector?: string;
}

/**
 * How long a BigQuery erasure waits before deleting once more: a sink in another process
 * honours the erasure once its follower has read the record (well under a second), and
 * what it wrote before then lands within a flush or two.
 */
const BIGQUERY_SETTLE_MS = 5_000;

/**
 * `callstream erase`: deletes a subject's rows from every table and records the erasure so the
 * sink never writes them again. On DuckDB through the running pipeline (it owns the file) when
 * there is one; on BigQuery, or with no pipeline running, from here.
 */
export async function eraseCommand(options: EraseCommandOptions): Promise<number> {
  const { config, bigquery } = configure({ connector: options.connector });
  const logger = createLogger({ level: /^(debug|trace)$/.test(config.logLevel) ? config.logLevel : 'silent', destination: process.stderr });
  const request = { subject: options.subject, dryRun: options.dryRun };
  const receipt = (config.warehouse === 'duckdb' ? await eraseOverSocket(querySocketPath(config.dataDir), request) : undefined) ?? (await eraseHere(config, bigquery, logger, options));
  console.log(options.json ? JSON.stringify(receipt, null, 2) : formatReceipt(receipt));
  return 0;
}

async function eraseHere(config: Config, bigquery: BigQuerySettings | undefined, logger: Logger, options: EraseCommandOptions): Promise<EraseReceipt> {
  // CFG_INVALID: CALLSTREAM_DATA_DIR (or the default ./data) does not point at a warehouse.
  if (config.warehouse === 'duckdb' && !existsSync(duckDbPath(config))) throw new CallstreamError('CFG_INVALID', `No warehouse at ${duckDbPath(config)}: set CALLSTREAM_DATA_DIR, or --connector for BigQuery`);
  const warehouse = await createWarehouse(config, duckDbPath(config), bigquery, logger);
  const kafka = createKafka(config, logger, '-erase');
  const producer = new IdempotentProducer(kafka, config, logger);
  try {
    await warehouse.ensureTables(TABLES);
    let publisher: Publisher | undefined;
    if (!options.dryRun) {
      const admin = kafka.admin();
      await connectKafkaClient(admin, config);
      const topics = await ensureTopics(admin, config, logger, [config.topicErasures]).finally(() => admin.disconnect());
      await producer.connect();
      publisher = new Publisher(producer, logger, { lingerMs: 0, recordLimits: topics.recordLimits, partitions: topics.partitions });
    }
    return await erase(
      {
        warehouse,
        pii: PiiPolicy.fromConfig(config),
        record: (erasure) =>
          publisher!.publish([erasureRecord(config.topicErasures, erasure)]).catch((cause) => {
            throw new CallstreamError('ERASE_PUBLISH_FAILED', undefined, { cause });
          }),
        // A dry run from here reads no topic (it needs no broker): it counts what the subject resolves to now.
        recorded: options.dryRun ? undefined : (key) => readRecordedErasure(kafka, config, logger, key),
        settleMs: config.warehouse === 'bigquery' ? BIGQUERY_SETTLE_MS : undefined,
      },
      options.subject,
      { dryRun: options.dryRun },
    );
  } finally {
    if (!options.dryRun) await producer.disconnect().catch(() => undefined);
    await warehouse.close();
  }
}
