import type { IncomingMessage, ServerResponse } from 'node:http';
import { SCHEMA_NAMES } from '../codec/index.js';
import type { TelephonyVendor, TelephonyVendors } from '../config/index.js';
import { CallstreamError } from '../errors.js';
import { normalizeCallback, toCallbackRecord, type CallbackFields, type TelephonyCallbackRecord } from '../telephony/index.js';
import { answerUnpublished, receive, recordAndAnswer, refusalOr, type Accepted, type Intake } from './audited-request.js';
import { isJsonContentType, parseJsonObject } from './parse-json.js';
import { isFormContentType, parseFormFields } from './parse-form.js';
import type { RouteContext } from './route-context.js';
import { credentialHeader, verifyRequest } from './auth/index.js';
import { inStep } from '../tracing/index.js';

/**
 * POST /api/v1/webhooks/telephony/{vendor_slug}: callbacks that telephony, billing and
 * integration providers send (the second flow, kept apart from Callaro's events: its
 * own contract, topics and table). Each request is verified with its vendor's scheme,
 * kept in the flow's audit topic whatever the outcome, and, when valid, published keyed
 * by the provider's call id; the 202 comes only after the broker acknowledged.
 *
 * POST …/{vendor_slug}/sample verifies and validates exactly the same way but publishes
 * nothing, not even the audit record: it answers with the record it would publish, so
 * an integrator can test their setup.
 */
export const TELEPHONY_PREFIX = '/api/v1/webhooks/telephony/';
const SAMPLE_SUFFIX = 'sample';

interface TelephonyTarget {
  slug: string;
  sample: boolean;
}

/** `{vendor_slug}` or `{vendor_slug}/sample` after the prefix; undefined for any other path. */
export function parseTelephonyPath(path: string): TelephonyTarget | undefined {
  if (!path.startsWith(TELEPHONY_PREFIX)) return undefined;
  const parts = path.slice(TELEPHONY_PREFIX.length).split('/');
  if (parts.length === 1 && parts[0] !== '') return { slug: parts[0], sample: false };
  if (parts.length === 2 && parts[0] !== '' && parts[1] === SAMPLE_SUFFIX) return { slug: parts[0], sample: true };
  return undefined;
}

export interface Verified {
  record: TelephonyCallbackRecord;
  fields: CallbackFields;
}

export async function handleTelephonyCallback(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
  // The target keeps its query: Twilio signs it, and the audit record must let one re-verify.
  const target = req.url ?? TELEPHONY_PREFIX;
  const route = parseTelephonyPath(target.split('?')[0]);
  const intake = await receive(ctx, req, requestId, 'telephony', target, credentialHeaders(ctx.telephonyVendors));
  const result = refusalOr(() => verifyCallback(ctx, req, intake, target, route));
  if (route?.sample) return answerUnpublished(ctx, res, intake, 'problem' in result ? result.problem : sampleAnswer(ctx, requestId, result));
  const outcome = 'problem' in result ? result : refusalOr(() => publication(ctx, result.record));
  await recordAndAnswer(ctx, res, intake, ctx.config.topicTelephonyRaw, outcome);
}

/** The callback's record on the callbacks topic, keyed by the provider's call id, and the 202 sent once it is acknowledged. */
function publication(ctx: RouteContext, record: TelephonyCallbackRecord): Accepted {
  return {
    family: 'telephony',
    event: {
      topic: ctx.config.topicTelephony,
      key: record.provider_call_id,
      value: ctx.codec.encode(SCHEMA_NAMES.telephonyCallback, record),
      headers: { 'callstream-request-id': record.request_id, 'callstream-vendor': record.vendor_slug },
    },
    answer: {
      status: 202,
      body: { status: 'accepted', request_id: record.request_id, vendor: record.vendor_slug, key: record.provider_call_id, callback_status: record.callback_status },
    },
  };
}

/**
 * Vendor, size, media type, signature, then the fields: the signature is checked on the
 * raw bytes before the body is parsed, so an unauthenticated sender learns nothing about
 * the parser. Throws the CallstreamError of the first problem.
 */
function verifyCallback(ctx: RouteContext, req: IncomingMessage, intake: Intake, target: string, route: TelephonyTarget | undefined): Verified {
  if (!route) {
    throw new CallstreamError('RCV_NOT_FOUND', `No route ${target.split('?')[0]}; provider callbacks go to POST ${TELEPHONY_PREFIX}{vendor_slug} (or …/{vendor_slug}/${SAMPLE_SUFFIX} to test).`);
  }
  const vendor = ctx.telephonyVendors.get(route.slug);
  if (!vendor) throw new CallstreamError('RCV_UNKNOWN_VENDOR', `No telephony vendor "${route.slug.slice(0, 64)}" is configured.`);
  if (intake.tooLarge) throw new CallstreamError('RCV_PAYLOAD_TOO_LARGE', `The body is larger than ${ctx.config.maxBodyBytes} bytes.`);
  if (intake.bodyProblem) throw intake.bodyProblem;
  const contentType = req.headers['content-type'];
  const format = isFormContentType(contentType) ? 'form' : isJsonContentType(contentType) ? 'json' : undefined;
  if (!format) {
    throw new CallstreamError(
      'RCV_UNSUPPORTED_MEDIA_TYPE',
      `Expected Content-Type: application/x-www-form-urlencoded or application/json, got ${JSON.stringify(contentType ?? null)}.`,
    );
  }
  const secret = inStep('verify', () => verifyRequest(vendor, { target, headers: req.headers, body: intake.bytes, format }), { 'callstream.vendor': vendor.slug });
  intake.audit.verified_by = `${vendor.slug}: ${vendor.scheme} #${secret}`;
  return inStep('validate', () => readCallback(vendor, contentType!, intake.bytes, intake.audit.request_id, intake.audit.received_at));
}

/**
 * The record of a verified callback's body (form or JSON), read as the route reads it once the
 * signature passed: its fields under the vendor's field names. Throws the CallstreamError of the
 * first problem. `callstream replay --call-sid` rebuilds accepted callbacks from the audit topic
 * with it.
 */
export function readCallback(vendor: TelephonyVendor, contentType: string, bytes: Buffer, requestId: string, receivedAt: number): Verified {
  const fields = isFormContentType(contentType) ? parseFormFields(bytes) : parseJsonObject(bytes).value;
  const result = normalizeCallback(fields, vendor.fields);
  if (!result.ok) {
    throw new CallstreamError('RCV_SCHEMA_INVALID', `The callback lacks fields the configuration of vendor "${vendor.slug}" names.`, { details: { fields: result.problems } });
  }
  const record = toCallbackRecord({
    requestId,
    receivedAt,
    vendorSlug: vendor.slug,
    contentType: contentType.split(';')[0].trim().toLowerCase(),
    fields,
    rawBody: bytes,
    callback: result.value,
  });
  return { record, fields };
}

/** The /sample answer: the record as it would be published (fields parsed, the raw body as text, for reading). */
function sampleAnswer(ctx: RouteContext, requestId: string, { record, fields }: Verified): { status: number; body: unknown } {
  return {
    status: 200,
    body: {
      status: 'verified',
      request_id: requestId,
      published: false,
      topic: ctx.config.topicTelephony,
      key: record.provider_call_id,
      record: { ...record, fields, raw_body: record.raw_body.toString('utf8') },
    },
  };
}

/** Every configured vendor's credential header, redacted in the audit record whichever vendor a request names. */
function credentialHeaders(vendors: TelephonyVendors): ReadonlySet<string> {
  return new Set([...vendors.values()].map(credentialHeader));
}
