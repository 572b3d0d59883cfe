import type { IHeaders, Kafka } from 'kafkajs';
import { SCHEMA_NAMES, type AvroCodec } from '../codec/index.js';
import type { Config, TelephonyVendors } from '../config/index.js';
import { CallstreamError, type ErrorCode } from '../errors.js';
import type { OutgoingMessage, Publisher } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import { isFormContentType, isJsonContentType, parseTelephonyPath, readCallaroEvent, readCallback, toEventRecord, type AccessPolicy, type RawRequestRecord } from '../receiver/index.js';
import { TRACEPARENT, TRACESTATE } from '../tracing/index.js';
import { rangesOf, scan } from './topic-scan.js';

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
  /**
   * With a call_sid subject and telephony vendors configured: the call's provider callbacks,
   * read from the telephony audit topic (accepted ones, rebuilt as the route built them).
   */
  callbacks?: { scanned: number; eligible: number; republished: number; stillRefused?: Record<string, number> };
}

/**
 * Re-validates requests from the Callaro audit topic that were refused for their content
 * (after a schema fix, say) and re-publishes the ones valid now to the events topic, with
 * their original request id and receipt time and a republished_at mark. Idempotent: the
 * sink treats the same request id as the same version, and orders re-published versions
 * by receipt time, so a replay never overwrites a newer event nor changes a table twice.
 */
export async function replayRaw(
  deps: { kafka: Kafka; config: Config; codec: AvroCodec; access: AccessPolicy; vendors?: TelephonyVendors; publisher?: Publisher; fits?: (message: OutgoingMessage) => boolean; logger: Logger },
  options: RawReplayOptions,
): Promise<RawReplayReport> {
  const { kafka, config, codec, access, vendors, publisher, logger } = deps;
  // A record over its topic's max.message.bytes (the topic's limit lowered since, or an audited
  // 202 whose event the broker then refused: its request was answered 413) is still refused, not
  // produced: the broker would refuse it and end the whole replay.
  const fits = deps.fits ?? ((message: OutgoingMessage) => publisher?.fits(message) ?? true);
  for (const code of options.codes) {
    if (!REPLAYABLE_CODES.includes(code as ErrorCode)) {
      throw new CallstreamError('CFG_INVALID', `--codes: ${code} cannot be replayed; replayable: ${REPLAYABLE_CODES.join(', ')}`);
    }
  }
  // A call_sid is also the provider's: its callbacks are repaired with it, when vendors are configured to read them.
  const withCallbacks = options.subject?.kind === 'call_sid' && vendors !== undefined && vendors.size > 0;
  const report: RawReplayReport = { scanned: 0, eligible: 0, republished: 0, stillRefused: {}, ...(withCallbacks ? { callbacks: { scanned: 0, eligible: 0, republished: 0 } } : {}) };
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ranges = await rangesOf(admin, withCallbacks ? [config.topicRaw, config.topicTelephonyRaw] : [config.topicRaw], options.from);
    const total = [...ranges.values()].reduce((n, r) => n + Number(r.end - r.start), 0);
    let read = 0;
    const progress = () => options.onProgress?.({ read, total, report });
    progress();
    await scan(
      kafka,
      admin,
      ranges,
      async (topic, messages) => {
        const out: OutgoingMessage[] = [];
        await codec.prefetch(messages.map((m) => m.value)); // writer schemas of registry-framed records
        for (const message of messages) {
          const republish =
            topic === config.topicRaw
              ? reconsider(codec, access, config.topicEvents, message.value, options, report)
              : reconsiderCallback(codec, vendors!, config.topicTelephony, message.value, options, report.callbacks!);
          if (!republish) continue;
          const traced = withTrace(republish, message.headers);
          if (fits(traced)) out.push(traced);
          else if (topic === config.topicRaw) refuse(report.stillRefused, 'RCV_RECORD_TOO_LARGE');
          else refuse((report.callbacks!.stillRefused ??= {}), 'RCV_RECORD_TOO_LARGE');
        }
        if (out.length > 0 && !options.dryRun) {
          if (!publisher) throw new CallstreamError('CFG_INVALID', 'replayRaw needs a publisher unless dryRun');
          await publisher.publish(out);
          if (topic === config.topicRaw) report.republished += out.length;
          else report.callbacks!.republished += out.length;
        }
        read += messages.length;
        progress();
      },
      { prefix: 'callstream-raw-replay', logger },
    );
    return report;
  } finally {
    await admin.disconnect();
  }
}

function refuse(counts: Record<string, number>, code: string): void {
  counts[code] = (counts[code] ?? 0) + 1;
}

/**
 * The message with the trace of the audit record it was rebuilt from (its `traceparent` and
 * `tracestate` headers, written by a receiver with tracing on): the sink's spans for the record
 * re-published then link to the webhook's trace, as they did for the first publication.
 */
function withTrace(message: OutgoingMessage, auditHeaders: IHeaders | undefined): OutgoingMessage {
  const carried: Record<string, string> = {};
  for (const name of [TRACEPARENT, TRACESTATE]) {
    const value = auditHeaders?.[name];
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) carried[name] = first.toString();
  }
  return Object.keys(carried).length === 0 ? message : { ...message, headers: { ...message.headers, ...carried } };
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
    refuse(report.stillRefused, err.code);
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

/**
 * The callbacks-topic message for an audited provider callback about the subject's call_sid:
 * only requests that were accepted (verified then, so not verified again: the audit record keeps
 * no credentials), rebuilt from the body as the route built them, with their request id and
 * receipt time, so the sink's version guard keeps any row that holds them already.
 */
function reconsiderCallback(
  codec: AvroCodec,
  vendors: TelephonyVendors,
  callbacksTopic: string,
  value: Buffer | null,
  options: RawReplayOptions,
  report: NonNullable<RawReplayReport['callbacks']>,
): OutgoingMessage | undefined {
  report.scanned++;
  if (!value || !options.subject) return undefined;
  const request = codec.decode<RawRequestRecord>(value).value;
  const accepted = !request.error_code && request.status >= 200 && request.status < 300 && request.verified_by !== null;
  if (request.flow !== 'telephony' || request.truncated || !accepted) return undefined;
  if (options.from && request.received_at < options.from.getTime()) return undefined;
  if (options.to && request.received_at > options.to.getTime()) return undefined;
  const route = parseTelephonyPath(request.path.split('?')[0]);
  const vendor = route && !route.sample ? vendors.get(route.slug) : undefined;
  const contentType = request.headers['content-type'];
  if (!vendor || !contentType || !(isFormContentType(contentType) || isJsonContentType(contentType))) return undefined;
  let record: ReturnType<typeof readCallback>['record'];
  try {
    record = readCallback(vendor, contentType, Buffer.from(request.body), request.request_id, request.received_at).record;
  } catch (err) {
    if (!(err instanceof CallstreamError)) throw err;
    return undefined; // the vendor's field names changed since: whose call it is cannot be told
  }
  if (record.call_sid !== options.subject.value) return undefined;
  report.eligible++;
  return {
    topic: callbacksTopic,
    key: record.provider_call_id,
    value: codec.encode(SCHEMA_NAMES.telephonyCallback, record),
    headers: { 'callstream-request-id': record.request_id, 'callstream-vendor': record.vendor_slug, 'callstream-republished': `replay-${options.subject.kind}` },
  };
}
