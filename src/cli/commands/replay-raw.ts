import { AvroCodec, schemasDir } from '../../codec/index.js';
import { loadConfig, loadTelephonyVendors, NO_TELEPHONY_VENDORS } from '../../config/index.js';
import { connectKafkaClient, createKafka, IdempotentProducer, Publisher, readRecordLimits } from '../../kafka/index.js';
import { createLogger } from '../../logger.js';
import { connectSchemaRegistry } from '../../pipeline/schema-registry.js';
import { AccessPolicy } from '../../receiver/index.js';
import { replayRaw, type RawReplayProgress, type RawReplayReport, type ReplaySubject } from '../../replay/index.js';
import { startProgress, type Progress } from '../progress.js';
import { confirm } from './confirm.js';
import { requireTopics } from './require-topics.js';

/**
 * `callstream replay-raw`: re-validates refused requests of the audit topic and re-publishes those
 * valid now (options checked by src/cli/definitions/replay-raw.ts). With a subject (`callstream replay
 * --call-id`), that subject's requests only, the accepted ones too: one call or tenant repaired
 * without rewinding the sink's group.
 */
export async function replayRawCommand(args: { from?: Date; to?: Date; codes: string[]; dryRun: boolean; yes: boolean; subject?: ReplaySubject }): Promise<number> {
  const options = { from: args.from, to: args.to, codes: args.codes, subject: args.subject };
  const name = args.subject ? 'replay' : 'replay-raw';
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const kafka = createKafka(config, logger, `-${name}`);
  // Broker reachable and topics there, or one clear line (replayRaw itself assumes both).
  // --call-sid repairs the call's provider callbacks too: read with the vendors' field names.
  const vendors = args.subject?.kind === 'call_sid' ? loadTelephonyVendors(config.telephonyVendors) : NO_TELEPHONY_VENDORS;
  const admin = kafka.admin();
  await connectKafkaClient(admin, config);
  let recordLimits: Map<string, number>;
  try {
    await requireTopics(admin, config, [
      { name: config.topicRaw, setting: 'CALLSTREAM_TOPIC_RAW' },
      { name: config.topicEvents, setting: 'CALLSTREAM_TOPIC_EVENTS' },
      ...(vendors.size > 0
        ? [
            { name: config.topicTelephonyRaw, setting: 'CALLSTREAM_TOPIC_TELEPHONY_RAW' },
            { name: config.topicTelephony, setting: 'CALLSTREAM_TOPIC_TELEPHONY' },
          ]
        : []),
    ]);
    // What the topics written take: a record over it is reported still refused, not produced.
    recordLimits = await readRecordLimits(admin, config, [config.topicEvents, ...(vendors.size > 0 ? [config.topicTelephony] : [])]);
  } finally {
    await admin.disconnect();
  }
  const producer = new IdempotentProducer(kafka, config, logger);
  const publisher = new Publisher(producer, logger, { lingerMs: 5, recordLimits });
  const fits = publisher.fits.bind(publisher);
  const codec = AvroCodec.fromDirectory(schemasDir());
  await connectSchemaRegistry(codec, config, logger);
  const access = new AccessPolicy(config);
  // Without --yes, show what would happen first and ask.
  if (args.dryRun || !args.yes) {
    const dry = await withProgress(`${name} (dry run)`, (r) => `${r.eligible} eligible`, (onProgress) => replayRaw({ kafka, config, codec, access, vendors, fits, logger }, { ...options, dryRun: true, onProgress }));
    console.log(formatRawReport(config, dry, true, args.subject));
    if (args.dryRun || dry.eligible + (dry.callbacks?.eligible ?? 0) === 0) return 0;
    if (!(await confirm(`Re-publish the requests valid now to ${config.topicEvents}${dry.callbacks ? ` and ${config.topicTelephony}` : ''}? [y/N] `))) {
      console.log('Nothing changed.');
      return 1;
    }
  }
  await producer.connect();
  try {
    const report = await withProgress(name, (r) => `${r.republished} re-published`, (onProgress) => replayRaw({ kafka, config, codec, access, vendors, publisher, logger }, { ...options, dryRun: false, onProgress }));
    console.log(formatRawReport(config, report, false, args.subject));
    return 0;
  } finally {
    await producer.disconnect();
  }
}

/** Runs one scan with its progress on stderr (records read of those in range, and a note); stdout keeps the report. */
async function withProgress<T>(label: string, note: (report: RawReplayReport) => string, run: (onProgress: (p: RawReplayProgress) => void) => Promise<T>): Promise<T> {
  let progress: Progress | undefined;
  try {
    return await run(({ read, total, report }) => {
      if (total === 0) return;
      progress ??= startProgress({ label, total });
      progress.update(read, note(report));
    });
  } finally {
    progress?.stop();
  }
}

const refusedCount = (counts: Record<string, number> = {}) => Object.values(counts).reduce((a, b) => a + b, 0);
const refusedList = (counts: Record<string, number> = {}) => Object.entries(counts).map(([code, n]) => `${code}: ${n}`).join(', ') || 'none';

function formatRawReport(config: { topicRaw: string; topicTelephonyRaw: string; topicEvents: string; topicTelephony: string }, report: RawReplayReport, dryRun: boolean, subject?: ReplaySubject): string {
  const topic = config.topicRaw;
  if (subject) {
    const what = `${{ call: 'call', call_sid: 'telephony call id', tenant: 'tenant' }[subject.kind]} ${subject.value}`;
    const lines = [
      `Audit topic ${topic}: ${report.scanned} request(s) read, ${report.eligible} about ${what} in the range.`,
      dryRun
        ? `  ${report.eligible - refusedCount(report.stillRefused)} would be re-published with their request ids and receipt times: rows they already hold stay as they are.`
        : `  ${report.republished} re-published; the sink's group was not touched.`,
    ];
    if (refusedCount(report.stillRefused) > 0) lines.push(`  Still refused: ${refusedList(report.stillRefused)} (over the max.message.bytes of ${config.topicEvents}).`);
    if (report.callbacks) {
      const cb = report.callbacks;
      lines.push(
        `Audit topic ${config.topicTelephonyRaw}: ${cb.scanned} callback(s) read, ${cb.eligible} accepted about ${what} in the range.`,
        dryRun ? `  ${cb.eligible - refusedCount(cb.stillRefused)} would be re-published with their request ids and receipt times.` : `  ${cb.republished} re-published; the sink's group was not touched.`,
      );
      if (refusedCount(cb.stillRefused) > 0) lines.push(`  Still refused: ${refusedList(cb.stillRefused)} (over the max.message.bytes of ${config.topicTelephony}).`);
    } else if (subject.kind === 'call_sid') {
      lines.push('Provider callbacks: not read (no telephony vendors configured: CALLSTREAM_TELEPHONY_VENDORS).');
    }
    return lines.join('\n');
  }
  const refused = refusedList(report.stillRefused);
  const valid = report.eligible - refusedCount(report.stillRefused);
  return [
    `Audit topic ${topic}: ${report.scanned} request(s) read, ${report.eligible} refused for their content in the range.`,
    dryRun ? `  ${valid} would be accepted now and re-published; still refused: ${refused}.` : `  ${report.republished} re-published; still refused: ${refused}.`,
  ].join('\n');
}
