import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { CALL_EVENTS, CAMPAIGN_EVENTS, COMPLIANCE_EVENTS, REQUESTS, TABLES, TELEPHONY_CALLBACKS, type Row } from '../../src/warehouse/index.js';
import { DEFAULT_VIEW_SETTINGS, VIEWS, type ViewSpec } from '../../src/warehouse/views/index.js';
import { rowFor } from '../support/table-rows.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROJECT = join(ROOT, 'analytics/dbt');
const SCHEMA_FILE = join(PROJECT, 'models/schema.yml');
const yamlText = (text: string) => JSON.stringify(text);

/** One model's entry of models/schema.yml: its columns documented, its key and non-NULL columns tested. */
function modelSchema(view: ViewSpec): string {
  const lines = [`  - name: ${view.name}`, `    description: ${yamlText(view.description)}`, '    data_tests:', '      - unique_key:', '          arguments:', `            columns: [${view.key.join(', ')}]`, '    columns:'];
  for (const column of view.columns(DEFAULT_VIEW_SETTINGS)) {
    lines.push(`      - name: ${column.name}`, `        description: ${yamlText(`${column.type}. ${column.description}`)}`);
    const tests = [
      ...(view.notNull.includes(column.name) ? ['          - not_null'] : []),
      ...(column.name === 'direction' ? ['          - accepted_values:', '              arguments:', '                values: [inbound, outbound]'] : []),
    ];
    if (tests.length > 0) lines.push('        data_tests:', ...tests);
  }
  return lines.join('\n');
}

/** models/schema.yml as src/warehouse/views/ defines it. */
function modelsSchema(): string {
  return [
    '# Generated from src/warehouse/views/ (columns, keys, non-NULL columns; default settings) by',
    '# test/integration/dbt.test.ts, which fails while this file is stale. Rewrite it with:',
    '#   UPDATE_DBT_SCHEMA=1 npx vitest run test/integration/dbt.test.ts',
    'version: 2',
    '',
    'models:',
    VIEWS.map(modelSchema).join('\n\n'),
    '',
  ].join('\n');
}

/** A DuckDB warehouse file written by the real DuckDbWarehouse: tables, views and a few fresh rows of each table. */
async function warehouseFile(extraCalls: Partial<Row>[] = []): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'callstream-dbt-'));
  const file = join(dir, 'callstream.duckdb');
  const warehouse = await DuckDbWarehouse.open(file);
  try {
    await warehouse.ensureTables(TABLES);
    const now = Date.now();
    const call = (id: string, values: Partial<Row>) =>
      rowFor(CALL_EVENTS, { call_id: id, event_type: 'call.completed', call_sid: `CA-${id}`, tenant_id: 44, agent_id: 42, direction: 'outbound', request_id: `req-${id}`, extracted_data: '{"outcome":"booked"}', tool_calls: '[{"name":"crm.lookup","arguments":{"id":1}}]', ...values }, now);
    await warehouse.upsert(CALL_EVENTS, [call('d-1', {}), call('d-2', { direction: 'inbound', tool_calls: '[]' }), ...extraCalls.map((values, i) => call(`d-extra-${i}`, values))]);
    await warehouse.upsert(TELEPHONY_CALLBACKS, [
      rowFor(TELEPHONY_CALLBACKS, { vendor_slug: 'twilio', provider_call_id: 'CA-d-1', callback_status: 'ringing', call_sid: 'CA-d-1', event_time: now - 30_000 }, now),
      rowFor(TELEPHONY_CALLBACKS, { vendor_slug: 'twilio', provider_call_id: 'CA-d-1', callback_status: 'completed', call_sid: 'CA-d-1', request_id: 'req-cb-2' }, now),
    ]);
    await warehouse.upsert(CAMPAIGN_EVENTS, [rowFor(CAMPAIGN_EVENTS, { campaign_id: 'cmp-d', event_type: 'campaign.started', tenant_id: 44 }, now)]);
    await warehouse.upsert(COMPLIANCE_EVENTS, [rowFor(COMPLIANCE_EVENTS, { subject_id: '+15550001', number_e164: '+15550001', event_type: 'number_health.flagged' }, now)]);
    await warehouse.upsert(REQUESTS, [rowFor(REQUESTS, { request_id: 'req-d-1', flow: 'callaro', status: 202 }, now)]);
  } finally {
    await warehouse.close();
  }
  return { dir, file };
}

/** `scripts/dbt.sh <args>` against a warehouse file; never throws: the exit code and output are the answer. */
function dbt(args: string[], place: { dir: string; file: string }): Promise<{ code: number; output: string }> {
  const env = {
    ...process.env,
    CALLSTREAM_DUCKDB_FILE: place.file,
    CALLSTREAM_DBT_FILE: join(place.dir, 'analytics.duckdb'),
    DBT_TARGET_PATH: join(place.dir, 'target'),
    DBT_LOG_PATH: join(place.dir, 'logs'),
  };
  return new Promise((resolve) => {
    execFile('bash', [join(ROOT, 'scripts/dbt.sh'), ...args], { cwd: place.dir, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

describe('dbt package (analytics/dbt)', () => {
  it('has a model per view, each a source, and models/schema.yml generated from the views', () => {
    const wanted = modelsSchema();
    if (process.env.UPDATE_DBT_SCHEMA === '1') writeFileSync(SCHEMA_FILE, wanted);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(wanted);
    const sources = readFileSync(join(PROJECT, 'models/sources.yml'), 'utf8');
    for (const view of VIEWS) {
      const model = join(PROJECT, `models/${view.name}.sql`);
      expect(existsSync(model), model).toBe(true);
      expect(readFileSync(model, 'utf8')).toContain(`{{ source('callstream', '${view.name}') }}`);
      expect(sources).toContain(`- name: ${view.name}\n`);
    }
    for (const table of TABLES.filter((t) => t.name !== 'dead_letters')) expect(sources).toContain(`- name: ${table.name}\n`);
  });

  it('dbt build and dbt source freshness pass on a warehouse file the DuckDB warehouse wrote', async () => {
    const place = await warehouseFile();
    const build = await dbt(['build'], place);
    expect(build.code, build.output).toBe(0);
    expect(build.output).toMatch(/PASS=\d+ WARN=\d+ ERROR=0/);
    const freshness = await dbt(['source', 'freshness'], place);
    expect(freshness.code, freshness.output).toBe(0);
  }, 300_000);

  it('dbt build fails when a test does: a call whose direction is neither inbound nor outbound', async () => {
    const place = await warehouseFile([{ direction: 'sideways' }]);
    const build = await dbt(['build'], place);
    expect(build.code, build.output).not.toBe(0);
    expect(build.output).toMatch(/accepted_values_calls_direction/);
  }, 300_000);
});
