import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CallstreamError } from '../errors.js';

/**
 * The telephony vendors whose callbacks callstream accepts on
 * POST /api/v1/webhooks/telephony/{vendor_slug}: for each slug, how its requests are
 * verified, with which secrets, and which body fields hold the call id and the status.
 * Parsed once at start-up; unknown keys are rejected, naming the key.
 */

/** At most this many secrets per vendor: the current one plus those still valid during a rotation. */
const MAX_SECRETS = 4;

const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const secretRef = z
  .strictObject({
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional().describe('Environment variable holding the secret.'),
    value: z.string().min(1).optional().describe('The secret itself (prefer "env": files end up in places secrets should not).'),
    optional: z.boolean().default(false).describe('An unset variable is skipped instead of refused (a rotation\'s second secret).'),
  })
  .refine((s) => (s.env === undefined) !== (s.value === undefined), { message: 'expected exactly one of "env" (an environment variable holding the secret) or "value"' });

const fieldNames = {
  description: z.string().optional().describe('Free text.'),
  secrets: z
    .array(secretRef)
    .min(1)
    .max(MAX_SECRETS)
    .describe(
      `1 to ${MAX_SECRETS} secrets, each {"env": "VAR"} (preferred) or {"value": "…"}; a request verified by any of them is accepted, which is how a rotation works (add the new one, switch the provider, remove the old). {"env": …, "optional": true} skips an unset variable.`,
    ),
  callIdField: z.string().min(1).optional().meta({ docDefault: '`CallSid` (twilio), `call_sid`' }).describe('Body field with the provider call id: the Kafka key and provider_call_id.'),
  callSidField: z.string().min(1).optional().meta({ docDefault: '`callIdField`' }).describe('Body field whose value Callaro records as call_events.call_sid (the join column).'),
  statusFields: z.array(z.string().min(1)).min(1).optional().meta({ docDefault: '`["CallStatus"]` (twilio), `["status", "event"]`' }).describe('Fields with the callback status or event; the first present wins.'),
  timeField: z
    .string()
    .min(1)
    .optional()
    .meta({ docDefault: '`Timestamp` (twilio), `timestamp`' })
    .describe('Field with the provider\'s event time (ISO 8601, RFC 2822 or epoch seconds/milliseconds); one that does not parse is left out, not refused.'),
};

/** The discriminator: how a vendor's requests are verified (docs/integration.md, "Verification schemes"). */
const scheme = <S extends string>(name: S) => z.literal(name).describe('How the vendor\'s requests are verified.');

const publicBaseUrl = z
  .string()
  .refine((value) => {
    if (!URL.canParse(value)) return false;
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '';
  }, 'expected an http(s) URL without query or fragment, e.g. "https://hooks.example.com" (plus a path prefix if a proxy adds one)')
  .transform((value) => value.replace(/\/+$/, ''));

const vendorSchema = z.discriminatedUnion('scheme', [
  z.strictObject({
    scheme: scheme('twilio'),
    publicBaseUrl: publicBaseUrl.describe('Scheme, host and any path prefix under which Twilio reaches callstream, e.g. behind a proxy https://hooks.example.com/callstream: the signature covers the full public URL, which a proxy hides.'),
    ...fieldNames,
  }),
  z.strictObject({
    scheme: scheme('hmac-sha256'),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'expected an HTTP header name')
      .transform((h) => h.toLowerCase())
      .describe('Header carrying the signature: HMAC-SHA256 of the raw body.'),
    encoding: z.enum(['hex', 'base64']).default('hex').describe('How the signature is written: hex (any case) or base64.'),
    prefix: z.string().default('').describe('Text before the signature in the header, e.g. "sha256=".'),
    ...fieldNames,
  }),
  z.strictObject({ scheme: scheme('bearer'), ...fieldNames }),
  z.strictObject({
    scheme: scheme('standard-webhooks'),
    toleranceSeconds: z.number().int().min(1).max(86_400).default(300).describe('How far webhook-timestamp may be from now (replays).'),
    ...fieldNames,
  }),
]);

/** One vendor's entry of the vendors file, for the generated key table (docs/integration.md). */
export const VENDOR_SCHEMA = vendorSchema;

const fileSchema = z.strictObject({
  // Slugs are checked here rather than by the record's key schema, whose issue would not say why.
  vendors: z.record(z.string(), vendorSchema).superRefine((vendors, ctx) => {
    for (const slug of Object.keys(vendors).filter((s) => !SLUG.test(s))) {
      ctx.addIssue({ code: 'custom', path: [slug], message: 'expected a vendor slug: 1 to 64 lower-case letters, digits, - and _' });
    }
  }),
});

type VendorInput = z.output<typeof vendorSchema>;
export type TelephonyScheme = VendorInput['scheme'];

/** Which body fields carry what, with the scheme's defaults applied. */
export interface CallbackFieldNames {
  callId: string;
  callSid: string;
  status: readonly string[];
  time: string;
}

interface VendorCommon {
  slug: string;
  /** Resolved secret values, every one currently valid. Never logged. */
  secrets: readonly string[];
  fields: CallbackFieldNames;
}

export type TelephonyVendor =
  | (VendorCommon & { scheme: 'twilio'; publicBaseUrl: string })
  | (VendorCommon & { scheme: 'hmac-sha256'; header: string; encoding: 'hex' | 'base64'; prefix: string })
  | (VendorCommon & { scheme: 'bearer' })
  | (VendorCommon & { scheme: 'standard-webhooks'; toleranceSeconds: number });

/** Configured vendors by slug. */
export type TelephonyVendors = ReadonlyMap<string, TelephonyVendor>;

export const NO_TELEPHONY_VENDORS: TelephonyVendors = new Map();

const DEFAULT_FIELDS: Record<TelephonyScheme, { callId: string; status: string[]; time: string }> = {
  twilio: { callId: 'CallSid', status: ['CallStatus'], time: 'Timestamp' },
  'hmac-sha256': { callId: 'call_sid', status: ['status', 'event'], time: 'timestamp' },
  bearer: { callId: 'call_sid', status: ['status', 'event'], time: 'timestamp' },
  'standard-webhooks': { callId: 'call_sid', status: ['status', 'event'], time: 'timestamp' },
};

/** Reads the vendors file (CALLSTREAM_TELEPHONY_VENDORS); no file means no vendor. */
export function loadTelephonyVendors(path: string | undefined, env: NodeJS.ProcessEnv = process.env): TelephonyVendors {
  if (!path) return NO_TELEPHONY_VENDORS;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CallstreamError('CFG_INVALID', `Cannot read telephony vendors file ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseTelephonyVendors(raw, env, path);
}

/** Checks a vendors document and resolves its secrets from `env`. */
export function parseTelephonyVendors(input: unknown, env: NodeJS.ProcessEnv = process.env, source = 'telephony vendors'): TelephonyVendors {
  const parsed = fileSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CallstreamError('CFG_INVALID', `${source}: ${problems}`);
  }
  const problems: string[] = [];
  const vendors = new Map<string, TelephonyVendor>();
  for (const [slug, input] of Object.entries(parsed.data.vendors)) {
    const secrets = resolveSecrets(input.secrets, env, `vendors.${slug}.secrets`, problems);
    vendors.set(slug, resolveVendor(slug, input, secrets));
  }
  if (problems.length > 0) throw new CallstreamError('CFG_INVALID', `${source}: ${problems.join('; ')}`);
  return vendors;
}

function resolveSecrets(refs: VendorInput['secrets'], env: NodeJS.ProcessEnv, path: string, problems: string[]): string[] {
  const values: string[] = [];
  refs.forEach((ref, i) => {
    if (ref.value !== undefined) return void values.push(ref.value);
    const value = env[ref.env!];
    if (value) values.push(value);
    else if (!ref.optional) problems.push(`${path}.${i}: environment variable ${ref.env} is not set (mark it "optional": true if it may be)`);
  });
  if (values.length === 0 && refs.every((r) => r.optional)) problems.push(`${path}: none of the optional secrets is set; a vendor needs at least one`);
  return values;
}

function resolveVendor(slug: string, input: VendorInput, secrets: string[]): TelephonyVendor {
  const defaults = DEFAULT_FIELDS[input.scheme];
  const callId = input.callIdField ?? defaults.callId;
  const fields: CallbackFieldNames = {
    callId,
    callSid: input.callSidField ?? callId,
    status: input.statusFields ?? defaults.status,
    time: input.timeField ?? defaults.time,
  };
  const common = { slug, secrets, fields };
  switch (input.scheme) {
    case 'twilio':
      return { ...common, scheme: 'twilio', publicBaseUrl: input.publicBaseUrl };
    case 'hmac-sha256':
      return { ...common, scheme: 'hmac-sha256', header: input.header, encoding: input.encoding, prefix: input.prefix };
    case 'bearer':
      return { ...common, scheme: 'bearer' };
    case 'standard-webhooks':
      return { ...common, scheme: 'standard-webhooks', toleranceSeconds: input.toleranceSeconds };
  }
}
