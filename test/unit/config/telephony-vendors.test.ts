import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTelephonyVendors, parseTelephonyVendors } from '../../../src/config/index.js';

const example = fileURLToPath(new URL('../../../connectors/telephony-vendors.json', import.meta.url));
const exampleEnv = { TWILIO_AUTH_TOKEN: 'twilio-primary', ACME_BILLING_WEBHOOK_SECRET: 'acme', RELAY_WEBHOOK_TOKEN: 'relay' };

describe('telephony vendors file', () => {
  it('parses connectors/telephony-vendors.json, resolving secrets from the environment and applying each scheme\'s defaults', () => {
    const vendors = loadTelephonyVendors(example, exampleEnv);
    expect([...vendors.keys()]).toEqual(['twilio', 'acme-billing', 'relay']);
    expect(vendors.get('twilio')).toMatchObject({
      scheme: 'twilio',
      publicBaseUrl: 'https://hooks.example.com',
      secrets: ['twilio-primary'],
      fields: { callId: 'CallSid', callSid: 'CallSid', status: ['CallStatus'], time: 'Timestamp' },
    });
    expect(vendors.get('acme-billing')).toMatchObject({ scheme: 'hmac-sha256', header: 'x-acme-signature', prefix: 'sha256=', encoding: 'hex', fields: { callId: 'call_sid', status: ['billing_status', 'event'] } });
    expect(vendors.get('relay')).toMatchObject({ scheme: 'bearer', fields: { callId: 'data.call.id', callSid: 'data.call.telephony_sid' } });
  });

  it('takes every set secret for a rotation, skipping an unset optional one', () => {
    expect(loadTelephonyVendors(example, { ...exampleEnv, TWILIO_AUTH_TOKEN_SECONDARY: 'twilio-next' }).get('twilio')!.secrets).toEqual(['twilio-primary', 'twilio-next']);
  });

  it('refuses a missing secret, naming the variable', () => {
    expect(() => loadTelephonyVendors(example, { ...exampleEnv, TWILIO_AUTH_TOKEN: '' })).toThrow(/vendors\.twilio\.secrets\.0: environment variable TWILIO_AUTH_TOKEN is not set/);
    const onlyOptional = { vendors: { v: { scheme: 'bearer', secrets: [{ env: 'NOPE', optional: true }] } } };
    expect(() => parseTelephonyVendors(onlyOptional, {})).toThrow(/none of the optional secrets is set/);
  });

  it('rejects unknown keys, naming them', () => {
    expect(() => parseTelephonyVendors({ vendors: { v: { scheme: 'bearer', secrets: [{ value: 'x' }], statusField: 'status' } } })).toThrow(/vendors\.v: Unrecognized key: "statusField"/);
    expect(() => parseTelephonyVendors({ vendors: {}, extra: 1 })).toThrow(/Unrecognized key: "extra"/);
    expect(() => parseTelephonyVendors({ vendors: { v: { scheme: 'bearer', secrets: [{ value: 'x', secret: 'y' }] } } })).toThrow(/Unrecognized key: "secret"/);
  });

  it('checks slugs, schemes, secrets and the public base URL', () => {
    expect(() => parseTelephonyVendors({ vendors: { 'Bad Slug': { scheme: 'bearer', secrets: [{ value: 'x' }] } } })).toThrow(/expected a vendor slug/);
    expect(() => parseTelephonyVendors({ vendors: { v: { scheme: 'basic', secrets: [{ value: 'x' }] } } })).toThrow(/vendors\.v\.scheme/);
    expect(() => parseTelephonyVendors({ vendors: { v: { scheme: 'bearer', secrets: [] } } })).toThrow(/vendors\.v\.secrets/);
    expect(() => parseTelephonyVendors({ vendors: { v: { scheme: 'bearer', secrets: [{ env: 'A', value: 'b' }] } } })).toThrow(/exactly one of "env"/);
    expect(() => parseTelephonyVendors({ vendors: { v: { scheme: 'twilio', secrets: [{ value: 'x' }] } } })).toThrow(/vendors\.v\.publicBaseUrl/);
    expect(() => parseTelephonyVendors({ vendors: { v: { scheme: 'twilio', publicBaseUrl: 'https://h.example/?x=1', secrets: [{ value: 'x' }] } } })).toThrow(/without query/);
  });

  it('means no vendor when no file is configured, and names a file it cannot read', () => {
    expect(loadTelephonyVendors(undefined).size).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'callstream-vendors-'));
    writeFileSync(join(dir, 'v.json'), '{not json');
    expect(() => loadTelephonyVendors(join(dir, 'v.json'))).toThrow(/Cannot read telephony vendors file .*v\.json/);
  });
});
