import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../src/config/index.js';
import { CALL_EVENTS, CAMPAIGN_EVENTS, TABLES, TELEPHONY_CALLBACKS } from '../../../../src/warehouse/index.js';
import { BIGQUERY_DIALECT, CALLS, DEFAULT_VIEW_SETTINGS, DUCKDB_DIALECT, parseCallsFields, VIEWS, viewSettings, viewStatements } from '../../../../src/warehouse/views/index.js';

const quote = (name: string) => `"${name}"`;

describe('view settings', () => {
  it('parses CALLSTREAM_VIEWS_CALLS_FIELDS as name:TYPE pairs, STRING when the type is left out', () => {
    expect(parseCallsFields(' sentiment:STRING, score:int64,vip:BOOL ,note ')).toEqual([
      { name: 'sentiment', type: 'STRING' },
      { name: 'score', type: 'INT64' },
      { name: 'vip', type: 'BOOL' },
      { name: 'note', type: 'STRING' },
    ]);
    expect(parseCallsFields('')).toEqual([]);
  });

  it.each([
    ['an unknown type', 'score:NUMBER', /"score:NUMBER": expected name:TYPE/],
    ['a name that is not an identifier', "x');DROP:STRING", /expected name:TYPE/],
    ['a field listed twice', 'score:INT64,Score:STRING', /"Score" is listed twice/],
    ['a third part', 'a:STRING:x', /expected name:TYPE/],
  ])('refuses %s, naming the entry', (_case, text, message) => {
    expect(() => parseCallsFields(text)).toThrow(message);
  });

  it('comes from the environment, with outcome and no fields by default', () => {
    expect(viewSettings(loadConfig({}))).toEqual(DEFAULT_VIEW_SETTINGS);
    const config = loadConfig({ CALLSTREAM_VIEWS_OUTCOME_FIELD: 'result', CALLSTREAM_VIEWS_CALLS_FIELDS: 'score:INT64' });
    expect(viewSettings(config)).toEqual({ outcomeField: 'result', callsFields: [{ name: 'score', type: 'INT64' }], gaps: DEFAULT_VIEW_SETTINGS.gaps });
    const gaps = loadConfig({ CALLSTREAM_GAPS_UNREPORTED_MINUTES: '45', CALLSTREAM_GAPS_STUCK_HOURS: '6', CALLSTREAM_GAPS_WINDOW_DAYS: '3', CALLSTREAM_TELEPHONY_VENDORS: 'vendors.json' });
    expect(viewSettings(gaps).gaps).toEqual({ unreportedMinutes: 45, stuckMinutes: 360, windowDays: 3, providerExpected: true });
    expect(() => loadConfig({ CALLSTREAM_GAPS_UNREPORTED_MINUTES: '0' })).toThrow(/CALLSTREAM_GAPS_UNREPORTED_MINUTES/);
    expect(() => loadConfig({ CALLSTREAM_VIEWS_CALLS_FIELDS: 'score:DECIMAL' })).toThrow(/CALLSTREAM_VIEWS_CALLS_FIELDS="score:DECIMAL"/);
    expect(() => loadConfig({ CALLSTREAM_VIEWS_OUTCOME_FIELD: "a'b" })).toThrow(/CALLSTREAM_VIEWS_OUTCOME_FIELD/);
  });

  it('refuses a flattened field named like a column calls already has', () => {
    const settings = { ...DEFAULT_VIEW_SETTINGS, callsFields: [{ name: 'Direction', type: 'STRING' as const }] };
    expect(() => CALLS.columns(settings)).toThrow(expect.objectContaining({ code: 'CFG_INVALID', message: expect.stringMatching(/Direction would repeat a column/) }));
    expect(() => viewStatements(DUCKDB_DIALECT, settings, quote, TABLES)).toThrow(/CALLSTREAM_VIEWS_CALLS_FIELDS/);
  });
});

describe('viewStatements', () => {
  it('creates or replaces every view over all the tables, each after the views it reads', () => {
    const statements = viewStatements(BIGQUERY_DIALECT, DEFAULT_VIEW_SETTINGS, (name) => `\`p.d.${name}\``, TABLES);
    expect(statements.map((s) => s.name)).toEqual(VIEWS.map((v) => v.name));
    expect(statements.every((s) => s.sql.startsWith(`CREATE OR REPLACE VIEW \`p.d.${s.name}\` AS\n`))).toBe(true);
    const created = new Set<string>(TABLES.map((t) => t.name));
    for (const view of VIEWS) {
      expect(view.reads.filter((name) => !created.has(name)), `${view.name} reads only what exists before it`).toEqual([]);
      created.add(view.name);
    }
  });

  it('leaves out the views over tables not ensured, and those over them', () => {
    expect(viewStatements(DUCKDB_DIALECT, DEFAULT_VIEW_SETTINGS, quote, [CALL_EVENTS]).map((s) => s.name)).toEqual(['tool_call_facts']);
    expect(viewStatements(DUCKDB_DIALECT, DEFAULT_VIEW_SETTINGS, quote, [CALL_EVENTS, TELEPHONY_CALLBACKS]).map((s) => s.name)).toEqual(['call_lifecycle', 'calls', 'call_outcomes_daily', 'tool_call_facts', 'call_gaps']);
    expect(viewStatements(DUCKDB_DIALECT, DEFAULT_VIEW_SETTINGS, quote, [CAMPAIGN_EVENTS]).map((s) => s.name)).toEqual(['campaign_status']);
  });

  it('bounds call_gaps to its window (both tables read a day further back, so an edge call is judged whole; BigQuery prunes partitions), delays as whole minutes', () => {
    const settings = { ...DEFAULT_VIEW_SETTINGS, gaps: { unreportedMinutes: 45, stuckMinutes: 360, windowDays: 3, providerExpected: true } };
    const sql = viewStatements(BIGQUERY_DIALECT, settings, (name) => `\`p.d.${name}\``, TABLES).find((s) => s.name === 'call_gaps')!.sql;
    expect(sql).toMatch(/FROM `p\.d\.telephony_callbacks`\s+WHERE call_sid IS NOT NULL AND event_time >= TIMESTAMP_SUB\(CURRENT_TIMESTAMP\(\), INTERVAL 5760 MINUTE\)/);
    expect(sql).toContain('p.ended_at >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 4320 MINUTE)');
    expect(sql).toMatch(/FROM `p\.d\.call_events`\s+WHERE event_type = 'call\.completed' AND call_sid IS NOT NULL AND event_time >= TIMESTAMP_SUB\(CURRENT_TIMESTAMP\(\), INTERVAL 5760 MINUTE\)/);
    expect(sql).toContain('INTERVAL 45 MINUTE');
    expect(sql).toContain('INTERVAL 360 MINUTE');
    expect(sql).toContain("'no_provider'");
    const without = viewStatements(DUCKDB_DIALECT, { ...settings, gaps: { ...settings.gaps, providerExpected: false } }, quote, TABLES).find((s) => s.name === 'call_gaps')!.sql;
    expect(without).not.toContain("'no_provider'");
    expect(() => viewStatements(DUCKDB_DIALECT, { ...settings, gaps: { ...settings.gaps, unreportedMinutes: 1.5 } }, quote, TABLES)).toThrow(/whole number of minutes/);
  });

  it('puts the settings into the calls view as JSON paths and typed columns', () => {
    const settings = { ...DEFAULT_VIEW_SETTINGS, outcomeField: 'result', callsFields: [{ name: 'score', type: 'INT64' as const }] };
    const [, calls] = viewStatements(DUCKDB_DIALECT, settings, quote, TABLES);
    expect(calls.sql).toContain(`json_extract_string(c.extracted_data, '$.result') AS outcome`);
    expect(calls.sql).toContain(`TRY_CAST(json_extract_string(c.extracted_data, '$.score') AS BIGINT) AS "score"`);
  });

  it('keeps every view\'s key and non-NULL columns among its columns', () => {
    for (const view of VIEWS) {
      const names = view.columns(DEFAULT_VIEW_SETTINGS).map((c) => c.name);
      expect([...view.key, ...view.notNull].filter((c) => !names.includes(c)), view.name).toEqual([]);
    }
  });
});
