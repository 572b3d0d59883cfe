import type { NastyClass, Size } from './options.js';
import { ACCEPTED, callbackKey, callKey, type Draft, type Expectation } from './ops.js';
import {
  billingBody,
  billingRequest,
  bodyOfSize,
  callaroRequest,
  callEvent,
  NUMBER_PLACEHOLDER,
  TELEPHONY_PREFIX,
  truncated,
  twilioParams,
  twilioRequest,
  withNumberLiteral,
  type CallFacts,
} from './payloads.js';
import type { Rng } from './prng.js';

/**
 * The deliveries that must be refused (or, near the limit, must not be), with the answer
 * the contract names for each: the nasty classes, each switchable, and the refusals
 * callstream already promises.
 */

const UNSTORABLE = 'RCV_UNSTORABLE_VALUE';

/**
 * The nasty deliveries, every class generated whatever is enabled (so switching a class
 * off leaves the rest of the schedule as it was), each with the answer the contract names.
 * Some reuse a key that is acknowledged elsewhere: accepted by mistake, they would also
 * overwrite its row.
 */
export function nastyOps(rng: Rng, size: Size, calls: CallFacts[], fresh: () => CallFacts): Array<Draft & { nasty: NastyClass }> {
  const out: Array<Draft & { nasty: NastyClass }> = [];
  const count = () => (size === 'small' ? rng.int(1, 3) : rng.int(4, 10));
  const target = () => (rng.chance(0.5) ? rng.pick(calls) : fresh());
  const refused = (path: string | undefined, prefix?: string): Expectation => ({ status: 422, code: UNSTORABLE, ...(path ? { path } : {}), ...(prefix ? { pathPrefix: prefix } : {}) });
  const callaro = (nasty: NastyClass, call: CallFacts, what: string, body: string, expect: Expectation): Draft & { nasty: NastyClass } => ({
    key: callKey(call.callId, 'call.completed'),
    label: `NASTY ${nasty} ${what} call.completed ${call.callId}`,
    request: callaroRequest(body),
    expect,
    nasty,
  });

  for (let i = 0; i < count(); i++) {
    const call = target();
    const base = callEvent(call, 'call.completed', 90 + i, rng);
    const variant = rng.int(0, 5);
    if (variant === 0) out.push(callaro('surrogate', call, 'value', JSON.stringify({ ...base, extracted_data: { ...(base.extracted_data as object), note: 'ok \ud800 not' } }), refused('extracted_data.note')));
    if (variant === 1) out.push(callaro('surrogate', call, 'known-field', JSON.stringify({ ...base, to_e164: '+1\udc00' }), refused('to_e164')));
    if (variant === 2) out.push(callaro('surrogate', call, 'key', JSON.stringify({ ...base, extracted_data: { ['n\ud83d']: 1 } }), refused(undefined, 'extracted_data.')));
    if (variant === 3) {
      const tools = [{ name: 'crm.lookup', arguments: { n: 1 } }, { name: 'kb.search', arguments: { q: '\udbff' } }];
      out.push(callaro('surrogate', call, 'tool_calls', JSON.stringify({ ...base, tool_calls: tools }), refused('tool_calls.1.arguments.q')));
    }
    if (variant === 4) out.push(callaro('surrogate', call, 'unknown-field', JSON.stringify({ ...base, soak_note: 'a\ud800b' }), refused('soak_note')));
    if (variant === 5) {
      const callSid = call.callSid;
      out.push({
        key: callbackKey('billing', callSid, 'charged'),
        label: `NASTY surrogate billing ${call.callId} charged`,
        request: billingRequest(JSON.stringify({ ...billingBody(callSid, 'charged', 90 + i), note: '\ud800' })),
        expect: refused('note'),
        nasty: 'surrogate',
      });
    }
  }
  for (let i = 0; i < count(); i++) {
    const call = target();
    const base = callEvent(call, 'call.completed', 80 + i, rng);
    const literal = rng.pick(['1e400', '-1e400', '1E999']);
    out.push(callaro('nonfinite', call, literal, withNumberLiteral({ ...base, extracted_data: { n: NUMBER_PLACEHOLDER } }, literal), refused('extracted_data.n')));
  }
  for (let i = 0; i < count(); i++) {
    const call = target();
    const base = callEvent(call, 'call.completed', 70 + i, rng);
    const literal = rng.pick(['12345678901234567890123', '-98765432109876543210', '9007199254740993']);
    out.push(callaro('bigint', call, literal, withNumberLiteral({ ...base, extracted_data: { n: NUMBER_PLACEHOLDER } }, literal), refused('extracted_data.n')));
  }
  for (let i = 0; i < count(); i++) {
    // A legal body close to the limit: accepted, and its row lands whole.
    const call = fresh();
    const bytes = rng.int(600_000, 900_000);
    const body = bodyOfSize(call, 1, bytes, rng);
    const draft = { key: callKey(call.callId, 'call.completed'), request: callaroRequest(body), expect: ACCEPTED, nasty: 'near-limit' as const };
    out.push({ ...draft, label: `NASTY near-limit ${Math.round(body.length / 1000)}KB call.completed ${call.callId} v1` });
    if (rng.chance(0.3)) out.push({ ...draft, label: `NASTY near-limit ${Math.round(body.length / 1000)}KB call.completed ${call.callId} v1 dup` });
  }
  for (let i = 0; i < count(); i++) {
    const call = fresh();
    const bytes = rng.int(1_100_000, 1_600_000);
    // Declared by Content-Length, or only found out while reading (chunked), or a small gzip body that inflates past the limit.
    const how = rng.pick(['content-length', 'chunked', 'gzip'] as const);
    const telephony = rng.chance(0.25);
    const text = bodyOfSize(call, 1, bytes, rng);
    const request = telephony ? billingRequest(text) : callaroRequest(text);
    out.push({
      label: `NASTY oversize ${Math.round(bytes / 1000)}KB ${how} ${telephony ? 'billing' : 'call.completed'} ${call.callId}`,
      request: { ...request, chunked: how === 'chunked', gzip: how === 'gzip' },
      expect: { status: 413, code: 'RCV_PAYLOAD_TOO_LARGE' },
      nasty: 'oversize',
    });
  }
  for (let i = 0; i < count(); i++) {
    const call = target();
    const telephony = rng.chance(0.3);
    const text = telephony ? JSON.stringify(billingBody(call.callSid, 'charged', 60 + i)) : JSON.stringify(callEvent(call, 'call.completed', 60 + i, rng));
    out.push({
      key: telephony ? callbackKey('billing', call.callSid, 'charged') : callKey(call.callId, 'call.completed'),
      label: `NASTY malformed ${telephony ? 'billing' : 'call.completed'} ${call.callId}`,
      request: telephony ? billingRequest(truncated(text, rng)) : callaroRequest(truncated(text, rng)),
      expect: { status: 400, code: 'RCV_MALFORMED_JSON' },
      nasty: 'malformed',
    });
  }
  return out;
}

/** Refusals callstream already promises (always on: they validate the harness itself). */
export function refusedOps(rng: Rng, calls: CallFacts[], fresh: () => CallFacts): Draft[] {
  const out: Draft[] = [];
  for (let i = 0; i < rng.int(1, 2); i++) {
    const call = fresh();
    out.push({ label: `refused unknown-family ${call.callId}`, request: callaroRequest(JSON.stringify({ event: 'billing.charged', call_id: call.callId })), expect: { status: 422, code: 'RCV_SCHEMA_INVALID' } });
    out.push({ label: `refused bad-tenant ${call.callId}`, request: callaroRequest(JSON.stringify({ ...callEvent(call, 'call.completed', 1, rng), tenant_id: 'forty-four' })), expect: { status: 422, code: 'RCV_SCHEMA_INVALID', path: 'tenant_id' } });
    out.push({ label: `refused media-type ${call.callId}`, request: callaroRequest(JSON.stringify(callEvent(call, 'call.completed', 1, rng)), 'text/plain'), expect: { status: 415, code: 'RCV_UNSUPPORTED_MEDIA_TYPE' } });
  }
  for (let i = 0; i < rng.int(1, 2); i++) {
    const call = rng.pick(calls);
    const params = twilioParams(call.callSid, 'canceled', 1);
    out.push({ label: `refused forged-signature twilio ${call.callId}`, request: twilioRequest(params, `${TELEPHONY_PREFIX}/twilio`, `${TELEPHONY_PREFIX}/twilio/sample`), expect: { status: 401, code: 'RCV_SIGNATURE_INVALID' } });
    out.push({ label: `refused unknown-vendor ${call.callId}`, request: twilioRequest(params, `${TELEPHONY_PREFIX}/acme`), expect: { status: 404, code: 'RCV_UNKNOWN_VENDOR' } });
    // A dry run: answered 200, published nowhere, not even in the audit topic.
    out.push({ label: `sample twilio ${call.callId} canceled`, request: twilioRequest(params, `${TELEPHONY_PREFIX}/twilio/sample`), expect: { status: 200 } });
  }
  return out;
}
