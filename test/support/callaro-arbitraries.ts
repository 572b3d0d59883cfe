import fc from 'fast-check';
import { isStorableTime } from '../../src/events/index.js';

/**
 * fast-check arbitraries for Callaro events, built field by field from the contract in the
 * families' descriptors, src/families/<family>.ts (not from their zod schemas, so the tests
 * compare two readings of the contract), plus the oracle: what the events topic must carry.
 */

type Json = fc.JsonValue;
export type EventObject = Record<string, unknown>;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const FIRST_MS = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** Field names the receiver reads; extra fields never use them. */
export const KNOWN_FIELDS = new Set([
  'event', 'tenant_id', 'occurred_at', 'call_id', 'voice_session_id', 'call_sid', 'agent_id', 'direction',
  'from_e164', 'to_e164', 'extracted_data', 'runtime_vars', 'tool_calls', 'campaign_id', 'number_e164',
]);

/**
 * One code point of well-formed text: mostly ASCII, sometimes anything up to U+10FFFF but
 * U+0000, which the receiver refuses anywhere in the body (RCV_NUL_CHARACTER).
 */
const textUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\u0000') },
);

/** A lone UTF-16 surrogate: JSON can carry it (as an escape), UTF-8 and so Avro cannot. */
export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit));

/** Well-formed text of at most `maxUnits` UTF-16 code units (what zod's max() counts). */
const text = (minLength: number, maxUnits: number) =>
  fc.oneof(
    fc.string({ unit: textUnit, minLength, maxLength: Math.floor(maxUnits / 2) }),
    fc.string({ unit: 'grapheme-ascii', minLength: Math.max(minLength, maxUnits - 2), maxLength: maxUnits }),
  );

/** Any key an object in a JSON body may have, `__proto__` and friends included. */
const jsonKey = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: textUnit, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '') },
);

/** Any JSON value, strings and keys with non-ASCII text. */
export const jsonValue = (maxDepth = 3): fc.Arbitrary<Json> =>
  fc.letrec<{ value: Json }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.string({ unit: textUnit, maxLength: 16 }),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(jsonKey, tie('value'), { maxKeys: 4 }),
    ),
  })).value;

const jsonObject = fc.dictionary(jsonKey, jsonValue(), { maxKeys: 5 });

const safeInteger = fc.oneof(fc.integer(), fc.integer({ min: -MAX_SAFE, max: MAX_SAFE }), fc.constantFrom(0, MAX_SAFE, -MAX_SAFE));

/** An integer id (tenant_id, agent_id, voice_session_id): a safe integer, or up to 16 digits of one as a string. */
const integerId = fc.oneof(
  safeInteger,
  fc
    .tuple(fc.integer({ min: -MAX_SAFE, max: MAX_SAFE }), fc.nat({ max: 15 }))
    .map(([n, zeros]) => `${n < 0 ? '-' : ''}${'0'.repeat(zeros)}${Math.abs(n)}`)
    .filter((s) => s.replace('-', '').length <= 16),
);

/** An entity id (call_id, campaign_id): non-empty text up to 256 units, or a safe integer. */
const stringId = fc.oneof({ weight: 3, arbitrary: text(1, 256) }, { weight: 1, arbitrary: safeInteger });

const shortText = text(0, 1024);

export interface GeneratedTime {
  text: string;
  /** The instant it names, in ms (extra fraction digits truncated, as Date.parse does). */
  ms: number;
}

/** An RFC 3339 timestamp with Z or an offset, seconds, and 0-9 fraction digits, naming an instant a warehouse TIMESTAMP holds (0001-01-01 to 9999-12-31 UTC). */
export const isoTimestamp: fc.Arbitrary<GeneratedTime> = fc
  .record({
    local: fc.integer({ min: FIRST_MS + 86_400_000, max: LAST_MS - 86_400_000 }),
    offsetMinutes: fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
    zulu: fc.boolean(),
    digits: fc.nat({ max: 9 }),
    extra: fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 6, maxLength: 6 }),
  })
  .map(({ local, offsetMinutes, zulu, digits, extra }) => {
    const offset = zulu ? 0 : offsetMinutes;
    const d = new Date(local);
    const pad = (n: number, width = 2) => String(n).padStart(width, '0');
    const ms = d.getUTCMilliseconds();
    const fraction = digits === 0 ? '' : `.${(pad(ms, 3) + extra).slice(0, digits)}`;
    const zone = zulu ? 'Z' : `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
    const stamp = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    const kept = digits >= 3 ? ms : digits === 0 ? 0 : ms - (ms % 10 ** (3 - digits));
    return { text: stamp + fraction + zone, ms: local - ms + kept - offset * 60_000 };
  })
  .filter((t) => isStorableTime(t.ms));

/** An optional field: absent, null, or a value. */
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 4 });

const eventName = (family: string, known: string[]) =>
  fc.oneof(fc.constantFrom(...known), fc.stringMatching(new RegExp(`^${family}\\.[a-z0-9_.]{1,40}$`)));

/** Unknown fields Callaro may add later (never one of the known names). */
const extraFields = fc.dictionary(
  jsonKey.filter((k) => !KNOWN_FIELDS.has(k)),
  jsonValue(),
  { maxKeys: 4 },
);

const common = {
  tenant_id: optional(integerId),
  occurred_at: optional(isoTimestamp.map((t) => t.text)),
};

function withExtras(known: fc.Arbitrary<EventObject>): fc.Arbitrary<EventObject> {
  return fc.tuple(extraFields, known).map(([extra, fields]) => ({ ...extra, ...fields }));
}

export const callEvent: fc.Arbitrary<EventObject> = withExtras(
  fc.record(
    {
      ...common,
      event: eventName('call', ['call.completed', 'call.started', 'call.transferred']),
      call_id: stringId,
      voice_session_id: optional(integerId),
      call_sid: optional(shortText),
      agent_id: optional(integerId),
      direction: optional(fc.oneof(fc.constantFrom('inbound', 'outbound'), shortText)),
      from_e164: optional(shortText),
      to_e164: optional(shortText),
      extracted_data: optional(jsonObject),
      runtime_vars: optional(jsonObject),
      tool_calls: optional(fc.array(jsonValue(), { maxLength: 4 })),
    },
    { requiredKeys: ['event', 'call_id'] },
  ),
);

export const campaignEvent: fc.Arbitrary<EventObject> = withExtras(
  fc.record(
    { ...common, event: eventName('campaign', ['campaign.started', 'campaign.paused', 'campaign.completed']), campaign_id: stringId },
    { requiredKeys: ['event', 'campaign_id'] },
  ),
);

export const complianceEvent: fc.Arbitrary<EventObject> = withExtras(
  fc
    .record(
      {
        ...common,
        event: fc.oneof(
          eventName('compliance', ['compliance.dnc_hit', 'compliance.consent_missing']),
          eventName('number_health', ['number_health.flagged', 'number_health.spam_likely']),
        ),
        number_e164: optional(fc.oneof(fc.constant('+14155550100'), shortText)),
        call_id: optional(stringId),
      },
      { requiredKeys: ['event'] },
    )
    .filter((e) => Boolean(e.number_e164) || (e.call_id !== undefined && e.call_id !== null)),
);

/** A valid event of any family. */
export const callaroEvent = fc.oneof(callEvent, campaignEvent, complianceEvent);

/** A field to break and a value that breaks it (the path the refusal must name). */
export interface Breakage {
  path: string;
  value: unknown;
}

const badIntegerId = fc.oneof(
  fc.constantFrom<unknown>(1.5, -0.25, 2 ** 53, -(2 ** 53) - 2, 1e300, 'x', '', '12a', '1.0', ' 1', '12345678901234567', true, [], {}),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 4 }).filter((s) => !/^-?\d+$/.test(s)),
);
const badStringId = fc.constantFrom<unknown>('', 'x'.repeat(257), 1.5, 2 ** 53, true, [], {});
const badText = fc.constantFrom<unknown>(1, true, [], {}, 'x'.repeat(1025));
const badTime = fc.oneof(
  fc.constantFrom<unknown>('2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00Z',
    '2026-01-01T00:00:00', '2026-01-01 00:00:00Z', '2026-01-01t00:00:00z', '2026-01-01T00:00:00+24:00', 'yesterday', 0, true),
  isoTimestamp.map((t) => t.text.replace('T', ' ')),
);
const notAnObject = fc.constantFrom<unknown>([], [1], 'x', 1, true);
const notAnArray = fc.constantFrom<unknown>({}, 'x', 1, true);

const callBreakage = fc.oneof(
  fc.record({ path: fc.constant('call_id'), value: badStringId }),
  fc.record({ path: fc.constantFrom('tenant_id', 'voice_session_id', 'agent_id'), value: badIntegerId }),
  fc.record({ path: fc.constantFrom('call_sid', 'direction', 'from_e164', 'to_e164'), value: badText }),
  fc.record({ path: fc.constant('occurred_at'), value: badTime }),
  fc.record({ path: fc.constantFrom('extracted_data', 'runtime_vars'), value: notAnObject }),
  fc.record({ path: fc.constant('tool_calls'), value: notAnArray }),
  fc.record({ path: fc.constant('event'), value: fc.constantFrom<unknown>('call.', 'call.Completed', 'call completed', 'CALL.x', 'call.ü') }),
);

/** A valid event with one field broken, and the path of that field. */
export const brokenEvent: fc.Arbitrary<{ event: EventObject; breakage: Breakage }> = fc.oneof(
  fc.tuple(callEvent, callBreakage).map(([event, breakage]) => ({ event: { ...event, [breakage.path]: breakage.value }, breakage })),
  fc.tuple(callEvent, fc.constant({ path: 'call_id', value: undefined })).map(([event, breakage]) => {
    const { call_id: _dropped, ...rest } = event;
    return { event: rest, breakage };
  }),
  fc.tuple(campaignEvent, fc.record({ path: fc.constant('campaign_id'), value: badStringId })).map(([event, breakage]) => ({
    event: { ...event, campaign_id: breakage.value },
    breakage,
  })),
  fc.tuple(complianceEvent, fc.constantFrom<unknown>(null, '')).map(([event, empty]) => {
    const { call_id: _call, ...rest } = event;
    return { event: { ...rest, number_e164: empty }, breakage: { path: 'number_e164', value: empty } };
  }),
  fc.tuple(callaroEvent, fc.constantFrom<unknown>('billing.charged', 'call', '', 42, null, ['call.completed'])).map(([event, name]) => ({
    event: { ...event, event: name },
    breakage: { path: 'event', value: name },
  })),
);

const asInteger = (value: unknown): number | null => {
  if (value === undefined || value === null) return null;
  const n = Number(value);
  return Object.is(n, -0) ? 0 : n; // an Avro long has no negative zero
};
const asText = (value: unknown): string | null => (value === undefined || value === null ? null : String(value));
const asJson = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

/**
 * What the events topic must carry for `input` (a JSON.parse result the receiver accepted),
 * derived from the contract in the README, not from the receiver's code.
 */
export function expectedEventRecord(input: EventObject, payload: string, requestId: string, receivedAt: number): Record<string, unknown> {
  const name = String(input.event);
  const family = name.startsWith('call.') ? 'call' : name.startsWith('campaign.') ? 'campaign' : 'compliance';
  const entityId =
    family === 'call' ? String(input.call_id) : family === 'campaign' ? String(input.campaign_id) : input.number_e164 ? String(input.number_e164) : String(input.call_id);
  return {
    request_id: requestId,
    received_at: receivedAt,
    event: name,
    family,
    entity_id: entityId,
    call_id: asText(input.call_id),
    voice_session_id: asInteger(input.voice_session_id),
    call_sid: asText(input.call_sid),
    tenant_id: asInteger(input.tenant_id),
    agent_id: asInteger(input.agent_id),
    campaign_id: asText(input.campaign_id),
    number_e164: asText(input.number_e164),
    direction: asText(input.direction),
    from_e164: asText(input.from_e164),
    to_e164: asText(input.to_e164),
    occurred_at: typeof input.occurred_at === 'string' ? Date.parse(input.occurred_at) : null,
    extracted_data: asJson(input.extracted_data),
    runtime_vars: asJson(input.runtime_vars),
    tool_calls: asJson(input.tool_calls),
    payload,
    republished_at: null,
  };
}
