import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Config } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import type { OutgoingMessage, Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { rangesOf, scan } from './topic-scan.js';

/** The header a redriven record carries: where its dead letter is (topic[partition]@offset). */
export const REDRIVEN_HEADER = 'callstream-redriven';
/** Headers the sink added to the dead letter; the redriven record goes back without them. */
const DEAD_LETTER_HEADERS = /^callstream-(error|error-code|source-topic|source-partition|source-offset|source-timestamp|value-omitted|headers-omitted)$/;

export interface RedriveOptions {
  /** Only dead letters with these error codes (default: every code). */
  codes?: readonly string[];
  /** Only dead letters written at or after this time (the broker's time index finds where). */
  from?: Date;
  /** Only dead letters written at or before this time. */
  to?: Date;
  dryRun: boolean;
  /** After each batch read: records read so far of those in range, over both passes. */
  onProgress?: (progress: { read: number; total: number; report: Readonly<RedriveReport> }) => void;
}

/** A dead letter not re-published, and why. */
export interface RedriveRefusal {
  letter: string;
  code: string;
  reason: string;
}

export interface RedriveReport {
  /** Dead letters read in range. */
  read: number;
  /** Re-published to their source topic (with dryRun: would be). */
  redriven: number;
  /** Of those, by error code. */
  byCode: Record<string, number>;
  /** Passed over: another code than asked. */
  otherCodes: number;
  /** Records redriven before and refused again: reported with the reason, never cycled. */
  refusedAgain: RedriveRefusal[];
  /** Dead letters cut to a pointer (the topic took no more): not re-published from here. */
  pointers: RedriveRefusal[];
}

const header = (message: KafkaMessage, name: string): string | undefined => {
  const value = message.headers?.[name];
  if (value === undefined || value === null) return undefined;
  return (Array.isArray(value) ? value[0] : value)?.toString();
};

/**
 * `callstream redrive`: re-publishes dead-lettered records to the topic they came from, once
 * their cause is fixed (a widened table, a new setting). The record goes back as it was (its
 * key, bytes and headers, so its request id and receipt time: the sink's version guard makes a
 * second redrive change nothing), marked with where its dead letter is. A record redriven before
 * and dead-lettered again is not cycled: it and the letter it came from are reported with the
 * reason. Reads the dead-letter topics with a throwaway group, twice (first what was refused
 * again, then what to re-publish); the sink's group is not touched.
 */
export async function redrive(deps: { kafka: Kafka; config: Config; publisher?: Publisher; logger: Logger }, options: RedriveOptions): Promise<RedriveReport> {
  const { kafka, config, publisher } = deps;
  const topics = [...new Set([config.topicDeadLetter, config.topicTelephonyDeadLetter])];
  const sources = new Set([config.topicEvents, config.topicTelephony, config.topicRaw, config.topicTelephonyRaw]);
  const report: RedriveReport = { read: 0, redriven: 0, byCode: {}, otherCodes: 0, refusedAgain: [], pointers: [] };
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ranges = await rangesOf(admin, topics, options.from);
    const total = 2 * [...ranges.values()].reduce((n, r) => n + Number(r.end - r.start), 0);
    let read = 0;
    const progress = () => options.onProgress?.({ read, total, report });
    progress();
    const inTime = (m: KafkaMessage) => !options.to || Number(m.timestamp) <= options.to.getTime();
    // Pass 1: the letters whose record was redriven before and refused again (the loop guard).
    const redrivenBefore = new Set<string>();
    await scan(kafka, admin, ranges, (_topic, messages) => {
      for (const m of messages) {
        const from = header(m, REDRIVEN_HEADER);
        if (from && inTime(m)) {
          redrivenBefore.add(from);
          const code = header(m, 'callstream-error-code') ?? '';
          // The sink words the reason as "CODE: cause": the code is reported on its own.
          report.refusedAgain.push({ letter: from, code, reason: (header(m, 'callstream-error') ?? '').replace(`${code}: `, '') });
        }
      }
      read += messages.length;
      progress();
    });
    // Pass 2: re-publish the rest.
    await scan(kafka, admin, ranges, async (topic, messages, partition) => {
      const out: OutgoingMessage[] = [];
      for (const m of messages) {
        if (!inTime(m)) continue;
        report.read++;
        const place = `${topic}[${partition}]@${m.offset}`;
        const code = header(m, 'callstream-error-code') ?? '';
        if (header(m, REDRIVEN_HEADER) || redrivenBefore.has(place)) continue; // reported in pass 1
        if (options.codes && !options.codes.includes(code)) {
          report.otherCodes++;
          continue;
        }
        const source = header(m, 'callstream-source-topic');
        if (header(m, 'callstream-value-omitted') || !m.value || m.value.length === 0 || !source || !sources.has(source)) {
          report.pointers.push({ letter: place, code, reason: source ? `only its place was kept: read it from ${source}[${header(m, 'callstream-source-partition')}]@${header(m, 'callstream-source-offset')}` : 'it names no source topic of this pipeline' });
          continue;
        }
        report.redriven++;
        report.byCode[code] = (report.byCode[code] ?? 0) + 1;
        const headers = Object.fromEntries(Object.entries(m.headers ?? {}).filter(([name]) => !DEAD_LETTER_HEADERS.test(name)));
        out.push({ topic: source, key: m.key?.toString() ?? '', value: m.value, headers: { ...headers, [REDRIVEN_HEADER]: place } as OutgoingMessage['headers'] });
      }
      if (out.length > 0 && !options.dryRun) {
        if (!publisher) throw new CallstreamError('CFG_INVALID', 'redrive needs a publisher unless dryRun');
        await publisher.publish(out);
      }
      read += messages.length;
      progress();
    });
    return report;
  } finally {
    await admin.disconnect();
  }
}
