import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { SCHEMA_NAMES, type AvroCodec } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { CallstreamError, type ErrorCode } from '../errors.js';
import type { OutgoingMessage, Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { readCallaroEvent, toEventRecord, type AccessPolicy, type RawRequestRecord } from '../receiver/index.js';

/**
 * Refusals a replay may reconsider: the request's content was judged, not its sender.
 * Access-control refusals (401/403) are never replayed: that would bypass the control.
 */
export const REPLAYABLE_CODES: readonly ErrorCode[] = ['RCV_SCHEMA_INVALID', 'RCV_MALFORMED_JSON', 'RCV_NOT_AN_OBJECT', 'RCV_UNSUPPORTED_MEDIA_TYPE', 'RCV_NESTING_TOO_DEEP', 'RCV_NUL_CHARACTER', 'RCV_UNSTORABLE_VALUE', 'RCV_RECORD_TOO_LARGE'];

/** What a narrowed replay repairs: one Callaro call, one telephony call id, or one tenant. */
export interface ReplaySubject {
  kind: 'call' | 'call_sid' | 'tenant';
  value: string;
}

export interface RawReplayOptions {
  /**
   * Only this subject's requests, and its accepted ones too (not only the refused): a repair of
   * one call or tenant (`callstream replay --call-id`) without rewinding the sink's group.
   */
  subject?: ReplaySubject;
  /** Only requests received at or after this time (default: the start of the topic). */
  from?: Date;
  /** Only requests received at or before this time (default: now). */
  to?: Date;
  /** Which refusals to reconsider (default: RCV_SCHEMA_INVALID). */
  codes: readonly string[];
  /** Count only; publish nothing. */
  dryRun: boolean;
  /**
   * Called once the range is known (read 0) and after each batch: records read so far out of
   * the records in range (end - start offsets, over the partitions), with the report so far.
   */
  onProgress?: (progress: RawReplayProgress) => void;
}

export interface RawReplayProgress {
  read: number;
  total: number;
  report: Readonly<RawReplayReport>;
}

export interface RawReplayReport {
  scanned: number;
  eligible: number;
  republished: number;
  /** Eligible requests still refused today, by the code they get now. */
  stillRefused: Record<string, number>;
}

/**
 * Re-validates requests from the Callaro audit topic that were refused for their content
 * (after a schema fix, say) and re-publishes the ones valid now to the events topic, with
 * their original request id and receipt time and a republished_at mark. Idempotent: the
 * sink treats the same request id as the same version, and orders re-published versions
 * by receipt time, so a replay never overwrites a newer event nor changes a table twice.
 */
export async function replayRaw(
  deps: { kafka: Kafka; config: Config; codec: AvroCodec; access: AccessPolicy; publisher?: Publisher; logger: Logger },
  options: RawReplayOptions,
): Promise<RawReplayReport> {
  const { kafka, config, codec, access, publisher, logger } = deps;
  for (const code of options.codes) {
    if (!REPLAYABLE_CODES.includes(code as ErrorCode)) {
      throw new CallstreamError('CFG_INVALID', `--codes: ${code} cannot be replayed; replayable: ${REPLAYABLE_CODES.join(', ')}`);
    }
  }
  const topic = config.topicRaw;
  const groupId = `callstream-raw-replay-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  const report: RawReplayReport = { scanned: 0, eligible: 0, republished: 0, stillRefused: {} };
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const starts = options.from ? await admin.fetchTopicOffsetsByTimestamp(topic, options.from.getTime()) : ends.map((e) => ({ partition: e.partition, offset: e.low }));
    const remaining = new Map<number, bigint>();
    // Per partition in range: where the scan starts and how far it has got (next offset).
    const firstOffset = new Map<number, bigint>();
    const position = new Map<number, bigint>();
    for (const e of ends) {
      const start = BigInt(starts.find((s) => s.partition === e.partition)?.offset ?? e.low);
      if (start < BigInt(e.high)) {
        remaining.set(e.partition, BigInt(e.high));
        firstOffset.set(e.partition, start);
        position.set(e.partition, start);
      }
    }
    let total = 0n;
    for (const [p, end] of remaining) total += end - firstOffset.get(p)!;
    const progress = () => {
      let read = 0n;
      for (const [p, at] of position) read += at - firstOffset.get(p)!;
      options.onProgress?.({ read: Number(read), total: Number(total), report });
    };
    progress();
    if (remaining.size === 0) return report;
    // A throwaway group positioned at the start offsets: nothing of the sink's group is touched.
    await admin.setOffsets({ groupId, topic, partitions: starts.map((s) => ({ partition: s.partition, offset: s.offset })) });
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
              const end = remaining.get(batch.partition);
              if (end === undefined) return;
              const out: OutgoingMessage[] = [];
              await codec.prefetch(batch.messages.map((m) => m.value)); // writer schemas of registry-framed records
              for (const message of batch.messages) {
                if (BigInt(message.offset) >= end) break;
                const republish = reconsider(codec, access, config.topicEvents, message.value, options, report);
                if (republish) out.push(republish);
                resolveOffset(message.offset);
              }
              if (out.length > 0 && !options.dryRun) {
                if (!publisher) throw new CallstreamError('CFG_INVALID', 'replayRaw needs a publisher unless dryRun');
                await publisher.publish(out);
                report.republished += out.length;
              }
              await heartbeat();
              const next = BigInt(batch.lastOffset()) + 1n;
              position.set(batch.partition, next < end ? next : end);
              progress();
              if (next >= end) remaining.delete(batch.partition);
              if (remaining.size === 0) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    await admin.deleteGroups([groupId]).catch((err) => logger.warn({ err, groupId }, 'could not delete the replay group'));
    return report;
  } finally {
    await admin.disconnect();
  }
}

/** The events-topic message for an audited request that is eligible and valid now; counts either way. */
function reconsider(codec: AvroCodec, access: AccessPolicy, eventsTopic: string, value: Buffer | null, options: RawReplayOptions, report: RawReplayReport): OutgoingMessage | undefined {
  report.scanned++;
  if (!value) return undefined;
  const request = codec.decode<RawRequestRecord>(value).value;
  const refusedForContent = Boolean(request.error_code && options.codes.includes(request.error_code));
  // With a subject, its accepted requests are re-published too: the same version again, which changes no stored row.
  const accepted = Boolean(options.subject && !request.error_code && request.status >= 200 && request.status < 300);
  if (request.flow !== 'callaro' || request.truncated || !(refusedForContent || accepted)) return undefined;
  if (options.from && request.received_at < options.from.getTime()) return undefined;
  if (options.to && request.received_at > options.to.getTime()) return undefined;
  let read: ReturnType<typeof readCallaroEvent>;
  try {
    read = readCallaroEvent(access, request.headers['content-type'], Buffer.from(request.body));
  } catch (err) {
    if (!(err instanceof CallstreamError)) throw err;
    // Whose request it is cannot be told from a body that does not validate: with a subject, it is not counted.
    if (options.subject) return undefined;
    report.eligible++;
    report.stillRefused[err.code] = (report.stillRefused[err.code] ?? 0) + 1;
    return undefined;
  }
  const { event, text } = read;
  if (options.subject && !isAbout(event.event as unknown as Record<string, unknown>, options.subject)) return undefined;
  report.eligible++;
  return {
    topic: eventsTopic,
    key: event.entityId,
    value: codec.encode(SCHEMA_NAMES.callaroEvent, toEventRecord(event, text, request.request_id, request.received_at, Date.now())),
    headers: { 'callstream-request-id': request.request_id, 'callstream-family': event.family, 'callstream-republished': options.subject ? `replay-${options.subject.kind}` : 'raw-replay' },
  };
}

/** Whether a Callaro event is about the subject: its call id, its telephony call id, its tenant. */
function isAbout(event: Record<string, unknown>, subject: ReplaySubject): boolean {
  const field = subject.kind === 'call' ? 'call_id' : subject.kind === 'call_sid' ? 'call_sid' : 'tenant_id';
  const value = event[field];
  return value !== null && value !== undefined && String(value) === subject.value;
}
