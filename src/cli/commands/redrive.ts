import { loadConfig } from '../../config/index.js';
import { connectKafkaClient, createKafka, IdempotentProducer, Publisher } from '../../kafka/index.js';
import { createLogger } from '../../logger.js';
import { redrive, type RedriveOptions, type RedriveReport } from '../../replay/index.js';
import { startProgress, type Progress } from '../progress.js';
import { confirm } from './confirm.js';
import { requireTopics } from './require-topics.js';

/**
 * `callstream redrive`: re-publishes dead-lettered records to their source topic after their
 * cause was fixed (options checked by src/cli/definitions/redrive.ts). Shows what it would do first and
 * asks, unless --yes.
 */
export async function redriveCommand(args: { codes?: string[]; from?: Date; to?: Date; dryRun: boolean; yes: boolean }): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const kafka = createKafka(config, logger, '-redrive');
  const admin = kafka.admin();
  await connectKafkaClient(admin, config);
  try {
    await requireTopics(admin, config, [
      { name: config.topicDeadLetter, setting: 'CALLSTREAM_TOPIC_DLQ' },
      { name: config.topicTelephonyDeadLetter, setting: 'CALLSTREAM_TOPIC_TELEPHONY_DLQ' },
    ]);
  } finally {
    await admin.disconnect();
  }
  const options: Omit<RedriveOptions, 'dryRun'> = { codes: args.codes, from: args.from, to: args.to };
  if (args.dryRun || !args.yes) {
    const dry = await withProgress('redrive (dry run)', (onProgress) => redrive({ kafka, config, logger }, { ...options, dryRun: true, onProgress }));
    console.log(formatRedrive(dry, true));
    if (args.dryRun || dry.redriven === 0) return 0;
    if (!(await confirm('Re-publish these records to the topics they came from? [y/N] '))) {
      console.log('Nothing changed.');
      return 1;
    }
  }
  const producer = new IdempotentProducer(kafka, config, logger);
  await producer.connect();
  try {
    const publisher = new Publisher(producer, logger, { lingerMs: 5 });
    const report = await withProgress('redrive', (onProgress) => redrive({ kafka, config, logger, publisher }, { ...options, dryRun: false, onProgress }));
    console.log(formatRedrive(report, false));
    return 0;
  } finally {
    await producer.disconnect();
  }
}

async function withProgress<T>(label: string, run: (onProgress: NonNullable<RedriveOptions['onProgress']>) => Promise<T>): Promise<T> {
  let progress: Progress | undefined;
  try {
    return await run(({ read, total, report }) => {
      if (total === 0) return;
      progress ??= startProgress({ label, total });
      progress.update(read, `${report.redriven} to re-publish`);
    });
  } finally {
    progress?.stop();
  }
}

/** The report for people: what went back (by code), what did not and why. */
export function formatRedrive(report: RedriveReport, dryRun: boolean): string {
  const codes = Object.entries(report.byCode).map(([code, n]) => `${code}: ${n}`).join(', ') || 'none';
  const lines = [
    `Dead letters read: ${report.read}.`,
    `  ${dryRun ? 'Would re-publish' : 'Re-published'} ${report.redriven} to the topics they came from (${codes}), each with its request id and receipt time: a row already there stays as it is.`,
  ];
  if (report.otherCodes > 0) lines.push(`  Passed over (another code than --codes): ${report.otherCodes}.`);
  if (report.refusedAgain.length > 0) {
    lines.push(`  Refused again after an earlier redrive, not re-published (fix the cause, then read them with callstream trace): ${report.refusedAgain.length}`);
    for (const r of report.refusedAgain.slice(0, 20)) lines.push(`    ${r.letter}: ${r.code} ${r.reason.slice(0, 200)}`);
  }
  if (report.pointers.length > 0) {
    lines.push(`  Kept as a pointer only (the dead-letter topic took no more), not re-published: ${report.pointers.length}`);
    for (const r of report.pointers.slice(0, 20)) lines.push(`    ${r.letter}: ${r.code}, ${r.reason}`);
  }
  return lines.join('\n');
}
