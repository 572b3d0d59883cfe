import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTableMarkdown, loadConfig } from '../../../src/config/index.js';
import { CONNECTOR_SCHEMA } from '../../../src/config/connector.js';
import { GENERATED_TABLES, keyRows, unionKeyRows } from '../../../src/config/markdown-table.js';
import { VENDOR_SCHEMA } from '../../../src/config/telephony-vendors.js';

describe('loadConfig', () => {
  it('applies defaults and parses the environment', () => {
    const config = loadConfig({ PORT: '9000', KAFKA_BROKERS: 'a:9092, b:9092', KAFKA_SSL: 'true', CALLSTREAM_TOPIC_PARTITIONS: '12' });
    expect(config).toMatchObject({ port: 9000, kafkaBrokers: ['a:9092', 'b:9092'], kafkaSsl: true, topicPartitions: 12, maxBodyBytes: 1048576, warehouse: 'duckdb' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('rejects an unknown CALLSTREAM_ variable, naming it', () => {
    expect(() => loadConfig({ CALLSTREAM_TOPIC_EVENT: 'x' })).toThrow(/Unknown setting CALLSTREAM_TOPIC_EVENT/);
  });

  it('rejects bad values, naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT="eighty"/);
    expect(() => loadConfig({ KAFKA_SSL: 'maybe' })).toThrow(/KAFKA_SSL/);
  });

  it('takes a DuckDB pool of 128MB or more, in any unit DuckDB reads, and refuses a smaller one', () => {
    expect(loadConfig({}).duckdbMemoryLimit).toBe('256MB');
    for (const size of ['128MB', '122.1MiB', '1GB', '0.5GiB', '200000KB']) expect(loadConfig({ CALLSTREAM_DUCKDB_MEMORY_LIMIT: size }).duckdbMemoryLimit).toBe(size);
    for (const size of ['32MB', '127MB', '122MiB', '64000KB', '0.1GB']) {
      expect(() => loadConfig({ CALLSTREAM_DUCKDB_MEMORY_LIMIT: size }), size).toThrow(/CALLSTREAM_DUCKDB_MEMORY_LIMIT.*at least 128MB/s);
    }
    expect(() => loadConfig({ CALLSTREAM_DUCKDB_MEMORY_LIMIT: 'lots' })).toThrow(/expected a size such as 256MB or 1GiB$/m);
    expect(() => loadConfig({ CALLSTREAM_DUCKDB_MEMORY_LIMIT: 'lots' })).not.toThrow(/at least 128MB/);
  });

  it('requires SASL credentials with a SASL mechanism', () => {
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' })).toThrow(/KAFKA_SASL_PASSWORD/);
  });

  it('checks the schema registry settings together', () => {
    expect(loadConfig({ CALLSTREAM_SCHEMA_REGISTRY_URL: 'http://registry:8081' })).toMatchObject({ schemaRegistryUrl: 'http://registry:8081', schemaRegistryAutoRegister: true });
    expect(() => loadConfig({ CALLSTREAM_SCHEMA_REGISTRY_URL: 'registry:8081' })).toThrow(/CALLSTREAM_SCHEMA_REGISTRY_URL/);
    expect(() => loadConfig({ CALLSTREAM_SCHEMA_REGISTRY_URL: 'http://r:8081', CALLSTREAM_SCHEMA_REGISTRY_USERNAME: 'key' })).toThrow(/CALLSTREAM_SCHEMA_REGISTRY_PASSWORD/);
    expect(() => loadConfig({ CALLSTREAM_SCHEMA_REGISTRY_AUTO_REGISTER: 'false' })).toThrow(/CALLSTREAM_SCHEMA_REGISTRY_URL is not/);
  });

  it('is documented: docs/configuration.md holds the table rendered from the option list (npm run docs:config)', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(doc).toContain(configTableMarkdown());
  });

  it.each(GENERATED_TABLES)('keeps the generated table $name in $file as its schema renders it (npm run docs:config)', ({ file, render }) => {
    const doc = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
    expect(doc).toContain(render());
  });

  it.each([
    ['connector file', () => keyRows(CONNECTOR_SCHEMA)],
    ['vendor entry', () => unionKeyRows(VENDOR_SCHEMA, 'scheme')],
  ])('describes every key of the %s', (_name, rows) => {
    const undocumented = rows().filter((r) => r.meaning.trim() === '' || /^For [^:]+: $/.test(r.meaning));
    expect(undocumented.map((r) => r.key)).toEqual([]);
    expect(rows().length).toBeGreaterThan(8);
  });
});
