import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConnector } from '../../../src/config/index.js';

const connectorsDir = fileURLToPath(new URL('../../../connectors/', import.meta.url));

describe('loadConnector', () => {
  it.each(readdirSync(connectorsDir).filter((f) => f.endsWith('-sink.json')))('parses connectors/%s', (file) => {
    const { connector, overrides } = loadConnector(join(connectorsDir, file));
    expect(overrides.warehouse).toBe(connector.warehouse);
    if (connector.warehouse === 'bigquery') expect(connector.bigquery?.maxConcurrentMerges).toBeLessThanOrEqual(2);
  });

  it('maps the BigQuery connector to options and defaults', () => {
    const { connector, overrides } = loadConnector(join(connectorsDir, 'bigquery-sink.json'));
    expect(overrides).toMatchObject({ warehouse: 'bigquery', topicEvents: 'callstream.callaro.events', topicTelephony: 'callstream.telephony.callbacks', consumerGroup: 'callstream-bigquery-sink', flushIntervalMs: 5000 });
    expect(connector.bigquery).toMatchObject({ credentials: 'adc', createTables: true, maxRequestBytes: 8_000_000 });
  });

  it('gives the staged BigQuery connector a buffer budget for its flushes in flight (flush.bufferBytes)', () => {
    const { overrides } = loadConnector(join(connectorsDir, 'bigquery-staged-sink.json'));
    expect(overrides).toMatchObject({ flushMaxRecords: 10_000, sinkBufferBytes: 1024 * 1024 * 1024 });
  });

  it('takes the schema registry from the connector (URL and auto-registration; credentials only from the environment)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callstream-conn-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ name: 'x', warehouse: 'duckdb', schemaRegistry: { url: 'https://registry.internal:8081', autoRegister: false } }));
    expect(loadConnector(join(dir, 'c.json')).overrides).toMatchObject({ schemaRegistryUrl: 'https://registry.internal:8081', schemaRegistryAutoRegister: false });
    writeFileSync(join(dir, 'd.json'), JSON.stringify({ name: 'x', warehouse: 'duckdb', schemaRegistry: { url: 'https://r', password: 'p' } }));
    expect(() => loadConnector(join(dir, 'd.json'))).toThrow(/schemaRegistry: Unrecognized key: "password"/);
  });

  it('rejects unknown keys, naming them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callstream-conn-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ name: 'x', warehouse: 'bigquery', bigquery: { projectId: 'p', dataset: 'd', tabel: 'oops' } }));
    expect(() => loadConnector(join(dir, 'c.json'))).toThrow(/bigquery: Unrecognized key: "tabel"/);
  });

  it('requires the bigquery section for the bigquery warehouse', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callstream-conn-'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ name: 'x', warehouse: 'bigquery' }));
    expect(() => loadConnector(join(dir, 'c.json'))).toThrow(/needs a "bigquery" section/);
  });
});
