import { parseArgs } from 'node:util';
import { AvroCodec, schemasDir } from '../../codec/index.js';
import { loadConfig } from '../../config/index.js';
import { CallstreamError } from '../../errors.js';
import { createKafka, IdempotentProducer, Publisher } from '../../kafka/index.js';
import { createLogger } from '../../logger.js';
import { connectSchemaRegistry } from '../../pipeline/schema-registry.js';
import { AccessPolicy } from '../../receiver/index.js';
import { replayRaw, type RawReplayReport } from '../../replay/index.js';
import { confirm } from './confirm.js';

/** `callstream replay-raw`: re-validates refused requests of the audit topic and re-publishes those valid now. */
export async function replayRawCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      codes: { type: 'string', default: 'RCV_SCHEMA_INVALID' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
    },
  });
  const time = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) throw new CallstreamError('CFG_INVALID', `--${flag}: expected an ISO time such as 2026-11-27T09:00:00Z, got "${value}"`);
    return at;
  };
  const options = { from: time('from', values.from), to: time('to', values.to), codes: values.codes.split(',').map((c) => c.trim()).filter(Boolean) };
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const kafka = createKafka(config, logger, '-replay-raw');
  const codec = AvroCodec.fromDirectory(schemasDir());
  await connectSchemaRegistry(codec, config, logger);
  const access = new AccessPolicy(config);
  // Without --yes, show what would happen first and ask.
  if (values['dry-run'] || !values.yes) {
    const dry = await replayRaw({ kafka, config, codec, access, logger }, { ...options, dryRun: true });
    console.log(formatRawReport(config.topicRaw, dry, true));
    if (values['dry-run'] || dry.eligible === 0) return 0;
    if (!(await confirm(`Re-publish the requests valid now to ${config.topicEvents}? [y/N] `))) {
      console.log('Nothing changed.');
      return 1;
    }
  }
  const producer = new IdempotentProducer(kafka, config, logger);
  await producer.connect();
  try {
    const publisher = new Publisher(producer, logger, { lingerMs: 5 });
    const report = await replayRaw({ kafka, config, codec, access, publisher, logger }, { ...options, dryRun: false });
    console.log(formatRawReport(config.topicRaw, report, false));
    return 0;
  } finally {
    await producer.disconnect();
  }
}

function formatRawReport(topic: string, report: RawReplayReport, dryRun: boolean): string {
  const refused = Object.entries(report.stillRefused).map(([code, n]) => `${code}: ${n}`).join(', ') || 'none';
  const valid = report.eligible - Object.values(report.stillRefused).reduce((a, b) => a + b, 0);
  return [
    `Audit topic ${topic}: ${report.scanned} request(s) read, ${report.eligible} refused for their content in the range.`,
    dryRun ? `  ${valid} would be accepted now and re-published; still refused: ${refused}.` : `  ${report.republished} re-published; still refused: ${refused}.`,
  ].join('\n');
}
