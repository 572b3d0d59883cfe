import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { callaroRow } from '../../../src/sink/callaro-rows.js';
import { PiiPolicy } from '../../../src/privacy/pii.js';
import { telephonyRow } from '../../../src/sink/telephony-rows.js';
import { sampleCallbackRecord, sampleEventRecord } from '../../support/fixtures.js';

const KEY = 'k'.repeat(40);
const FROM = '+14155550100';
const TO = '+919900000001';
const hashMode = (extra: Record<string, string> = {}) => PiiPolicy.fromConfig(loadConfig({ CALLSTREAM_PII_MODE: 'hash', CALLSTREAM_PII_HASH_KEY: KEY, ...extra }));
const expectedHash = (value: string, keyId = 'k1') => `${keyId}:${createHmac('sha256', KEY).update(value).digest('hex')}`;
const at = { partition: 0, offset: 1 };

function callRow(policy: PiiPolicy) {
  const payload = JSON.stringify({ event: 'call.completed', call_id: 'vs_1', from_e164: FROM, to_e164: TO, extracted_data: { customer_name: 'Ada', callback: FROM, notes: 'x' } });
  const record = sampleEventRecord({ payload, extracted_data: JSON.stringify({ customer_name: 'Ada', callback: FROM, notes: 'x' }) });
  const { spec, row } = callaroRow(record, at, 1)!;
  return policy.protect(spec, row);
}

describe('PiiPolicy', () => {
  it('in clear mode keeps the numbers and adds their last four digits', () => {
    const row = callRow(PiiPolicy.fromConfig(loadConfig({})));
    expect(row).toMatchObject({ from_e164: FROM, to_e164: TO, from_last4: '0100', to_last4: '0001' });
  });

  it('in hash mode stores a keyed HMAC-SHA256 named by the key id, the last four digits, and no number anywhere', () => {
    const row = callRow(hashMode());
    expect(row).toMatchObject({ from_e164: expectedHash(FROM), to_e164: expectedHash(TO), from_last4: '0100', to_last4: '0001' });
    const text = JSON.stringify(row);
    expect(text).not.toContain(FROM);
    expect(text).not.toContain(TO);
    expect(JSON.parse(row.payload as string).from_e164).toBe(expectedHash(FROM));
    expect(JSON.parse(row.extracted_data as string)).toEqual({ customer_name: 'Ada', callback: expectedHash(FROM), notes: 'x' });
  });

  it('gives the same number the same hash (joins and counts work), and another key id another value', () => {
    expect(hashMode().storedNumber(FROM)).toBe(hashMode().storedNumber(FROM));
    expect(hashMode({ CALLSTREAM_PII_HASH_KEY_ID: 'k2' }).storedNumber(FROM)).toBe(expectedHash(FROM, 'k2'));
  });

  it('hashes and drops configured paths, in the column and in the payload\'s copy', () => {
    const row = callRow(hashMode({ CALLSTREAM_PII_HASH_PATHS: 'extracted_data.customer_name', CALLSTREAM_PII_DROP_PATHS: 'extracted_data.notes' }));
    const expected = { customer_name: expectedHash('Ada'), callback: expectedHash(FROM) };
    expect(JSON.parse(row.extracted_data as string)).toEqual(expected);
    expect(JSON.parse(row.payload as string).extracted_data).toEqual(expected);
  });

  it('drops paths in clear mode too, leaving other JSON as sent', () => {
    const row = callRow(PiiPolicy.fromConfig(loadConfig({ CALLSTREAM_PII_DROP_PATHS: 'extracted_data.customer_name' })));
    expect(JSON.parse(row.extracted_data as string)).toEqual({ callback: FROM, notes: 'x' });
  });

  it('hashes a compliance event\'s number and its subject_id', () => {
    const record = sampleEventRecord({ event: 'number_health.flagged', family: 'compliance', entity_id: FROM, number_e164: FROM, call_id: null, payload: JSON.stringify({ number_e164: FROM }) });
    const { spec, row } = callaroRow(record, at, 1)!;
    expect(hashMode().protect(spec, row)).toMatchObject({ subject_id: expectedHash(FROM), number_e164: expectedHash(FROM), number_last4: '0100' });
  });

  it('hashes the callbacks\' number fields whatever their format and empties raw_body', () => {
    const fields = { CallSid: 'CA1', CallStatus: 'completed', From: FROM, To: 'client:alice', Caller: FROM };
    const { spec, row } = telephonyRow(sampleCallbackRecord({ fields: JSON.stringify(fields), raw_body: Buffer.from(`From=${encodeURIComponent(FROM)}`) }), at, 1);
    const out = hashMode().protect(spec, row);
    expect(JSON.parse(out.fields as string)).toEqual({ ...fields, From: expectedHash(FROM), To: expectedHash('client:alice'), Caller: expectedHash(FROM) });
    expect(out.raw_body).toBe('');
    expect(row.raw_body).not.toBe(''); // the input row is left alone
  });
});

describe('CALLSTREAM_PII_* settings', () => {
  it('refuse hash mode without a key, or with a short one, without quoting the key', () => {
    expect(() => loadConfig({ CALLSTREAM_PII_MODE: 'hash' })).toThrow(/expected CALLSTREAM_PII_HASH_KEY/);
    let message = '';
    try {
      loadConfig({ CALLSTREAM_PII_MODE: 'hash', CALLSTREAM_PII_HASH_KEY: 'short-secret-value' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/at least 32/);
    expect(message).not.toContain('short-secret-value');
  });

  it('refuse hash paths without hash mode and paths outside the JSON columns', () => {
    expect(() => loadConfig({ CALLSTREAM_PII_HASH_PATHS: 'extracted_data.name' })).toThrow(/CALLSTREAM_PII_MODE is not hash/);
    expect(() => loadConfig({ CALLSTREAM_PII_DROP_PATHS: 'payload.name' })).toThrow(/CALLSTREAM_PII_DROP_PATHS: payload.name/);
  });
});
