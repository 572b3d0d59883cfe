import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { CALLARO_PATH } from '../../src/receiver/callaro-route.js';
import { TELEPHONY_PREFIX } from '../../src/receiver/telephony-route.js';

/**
 * The operations files (ops/): the Grafana dashboard, the Prometheus alert rules and their
 * promtool unit tests. promtool comes from scripts/promtool.sh (installed, cached, by the global
 * setup; installed here if missing): when it cannot be had, these tests fail, never skip.
 * Besides promtool's own checks, every metric, label and label value the files use must exist
 * in src/ (so they cannot rot), and the alerts must be the README's table.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = 'ops/prometheus/callstream-rules.yml';
const RULE_TESTS = 'ops/prometheus/callstream-rules.test.yml';
const DASHBOARD = 'ops/grafana/callstream.json';
const README_SECTION = 'Alerts for the reliability checklist';
/** Where the alert table lives (the README links to it). */
const ALERTS_DOC = 'docs/operations.md';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

// ---------------------------------------------------------------------------------------------
// A reader for the YAML these two files are written in (block mappings and sequences, plain and
// quoted scalars, `|`/`>` block scalars, `[]`/`{}`, comments). Anything else throws, so a file
// written differently fails here instead of being half read; promtool checks the real syntax.

type Yaml = string | Yaml[] | { [key: string]: Yaml };

function parseYaml(text: string): Yaml {
  const lines = text.split('\n');
  let i = 0;
  const indentOf = (line: string): number => line.search(/\S/);
  const significant = (line: string): boolean => line.trim() !== '' && !line.trim().startsWith('#');
  const skip = (): void => {
    while (i < lines.length && !significant(lines[i])) i++;
  };
  const fail = (why: string): never => {
    throw new Error(`YAML line ${i + 1}: ${why}: ${JSON.stringify(lines[i])}`);
  };

  function scalar(raw: string): Yaml {
    const s = raw.trim();
    if (s.startsWith('"')) {
      const end = s.lastIndexOf('"');
      if (end === 0 || s.slice(end + 1).trim().replace(/^#.*/, '') !== '') fail('unsupported double-quoted scalar');
      return JSON.parse(s.slice(0, end + 1)) as string;
    }
    if (s.startsWith("'")) {
      const end = s.lastIndexOf("'");
      if (end === 0 || s.slice(end + 1).trim().replace(/^#.*/, '') !== '') fail('unsupported single-quoted scalar');
      return s.slice(1, end).replace(/''/g, "'");
    }
    const plain = s.replace(/\s+#.*$/, '');
    if (plain === '[]') return [];
    if (plain === '{}') return {};
    if (/^[[{&*!|>]/.test(plain)) fail('unsupported scalar');
    return plain;
  }

  function blockScalar(style: string, parentIndent: number): string {
    const body: string[] = [];
    let indent = -1;
    while (i < lines.length && (lines[i].trim() === '' || indentOf(lines[i]) > parentIndent)) {
      if (lines[i].trim() !== '' && indent < 0) indent = indentOf(lines[i]);
      body.push(lines[i].trim() === '' ? '' : lines[i].slice(indent));
      i++;
    }
    while (body.length && body[body.length - 1] === '') body.pop();
    const joined = style.startsWith('>') ? body.join(' ').replace(/ {2,}/g, ' ') : body.join('\n');
    return style.endsWith('-') ? joined : `${joined}\n`;
  }

  function node(indent: number): Yaml {
    skip();
    return lines[i].trim().startsWith('-') ? sequence(indent) : mapping(indent);
  }

  function sequence(indent: number): Yaml[] {
    const items: Yaml[] = [];
    for (skip(); i < lines.length && indentOf(lines[i]) === indent && /^-( |$)/.test(lines[i].trim()); skip()) {
      const content = lines[i].trim().slice(1).trim();
      if (content === '') {
        i++;
        skip();
        items.push(node(indentOf(lines[i])));
      } else if (/^[^\s'"[{][^:]*:( |$)/.test(content)) {
        lines[i] = ' '.repeat(indent + 2) + content; // "- key: value" opens a mapping at indent + 2
        items.push(mapping(indent + 2));
      } else {
        items.push(scalar(content));
        i++;
      }
    }
    return items;
  }

  function mapping(indent: number): { [key: string]: Yaml } {
    const map: { [key: string]: Yaml } = {};
    for (skip(); i < lines.length && indentOf(lines[i]) === indent; skip()) {
      const m = /^([^\s'"[{-][^:]*):(?: +(.*))?$/.exec(lines[i].trim());
      if (!m) fail('expected "key: value"');
      const [, key, rest = ''] = m!;
      if (key in map) fail(`duplicate key ${key}`);
      i++;
      if (/^[|>][-+]?$/.test(rest.trim())) map[key] = blockScalar(rest.trim(), indent);
      else if (rest.trim() !== '' && !rest.trim().startsWith('#')) map[key] = scalar(rest);
      else {
        skip();
        const next = i < lines.length ? indentOf(lines[i]) : -1;
        if (next > indent) map[key] = node(next);
        else if (next === indent && /^-( |$)/.test(lines[i].trim())) map[key] = sequence(indent);
        else map[key] = '';
      }
    }
    if (i < lines.length && indentOf(lines[i]) > indent) fail('unexpected indentation');
    return map;
  }

  const doc = node(0);
  skip();
  if (i < lines.length) fail('unexpected content');
  return doc;
}

// ---------------------------------------------------------------------------------------------
// The files, read into plain shapes.

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  input_series: { series: string; values: string }[];
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: { exp_labels?: Record<string, string> }[] }[];
}

const rulesDoc = parseYaml(read(RULES)) as unknown as { groups: { name: string; rules: Rule[] }[] };
const rules = rulesDoc.groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert !== undefined);
const testsDoc = parseYaml(read(RULE_TESTS)) as unknown as { rule_files: string[]; tests: RuleTest[] };

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { type: string; uid: string } }[];
  gridPos: { h: number; w: number; x: number; y: number };
}
interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string; type: string; query: string | { query: string }; datasource?: { uid: string } }[] };
  panels: Panel[];
  uid: string;
  title: string;
}
const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
const variableQueries = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => (typeof v.query === 'string' ? v.query : v.query.query));

/** The alert table of docs/operations.md: alert name and expression of each row. */
function readmeAlerts(): { slo: string; alert: string; expr: string }[] {
  const readme = read(ALERTS_DOC);
  const start = readme.indexOf(`## ${README_SECTION}\n`);
  expect(start, `${ALERTS_DOC} has a "## ${README_SECTION}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n#', start + 4);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const rows = section.split('\n').filter((l) => l.startsWith('|')).map((l) => l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim().replace(/\\\|/g, '|')));
  const [header, , ...body] = rows;
  const col = (name: RegExp): number => {
    const at = header.findIndex((h) => name.test(h));
    expect(at, `the README's alert table has a column matching ${name}: ${header.join(' | ')}`).toBeGreaterThanOrEqual(0);
    return at;
  };
  const [slo, alert, expr] = [col(/^SLO/), col(/^Alert( rule)?$/i), col(/expression/i)];
  const code = (cell: string): string => /^`(.*)`$/.exec(cell)?.[1] ?? cell;
  return body.map((r) => ({ slo: r[slo], alert: code(r[alert]), expr: code(r[expr]) }));
}

// ---------------------------------------------------------------------------------------------
// Metric names and labels, from the code.

const metrics = new Metrics();
interface Known {
  type: string;
  labels: string[];
}
const known = new Map<string, Known>();
for (const m of metrics.registry.getMetricsAsArray()) {
  const { name, labelNames } = m as unknown as { name: string; labelNames: string[] };
  const type = String((m as unknown as { type: unknown }).type ?? '');
  known.set(name, { type, labels: labelNames });
}
const histograms = new Set([...known].filter(([, k]) => k.type === 'histogram').map(([n]) => n));

/** The exposed series a name refers to: a metric, or a histogram's _bucket/_sum/_count. */
function series(name: string): { metric: string; type: string; labels: string[] } | undefined {
  const k = known.get(name);
  if (k) return { metric: name, type: k.type, labels: k.labels };
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m && histograms.has(m[1])) return { metric: m[1], type: m[2] === 'bucket' ? 'histogram_bucket' : 'counter', labels: [...known.get(m[1])!.labels, ...(m[2] === 'bucket' ? ['le'] : [])] };
  return undefined;
}

/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];

const metricNames = (text: string): string[] => [...new Set(text.match(/\bcallstream_[a-z0-9_]+/g) ?? [])];
const selectors = (expr: string): { name: string; matchers: { label: string; op: string; value: string }[] }[] =>
  [...expr.matchAll(/\b(callstream_[a-z0-9_]+)\s*(?:\{([^}]*)\})?/g)].map(([, name, body = '']) => ({
    name,
    matchers: [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(([, label, op, value]) => ({ label, op, value })),
  }));

/** Every PromQL expression in ops/ (and the test series, `sample`: labels, not matchers), where it is. */
function allExpressions(): { where: string; expr: string; sample?: boolean }[] {
  return [
    ...rules.map((r) => ({ where: `${RULES} ${r.alert ?? r.record}`, expr: r.expr })),
    ...dashboardExprs.map((e) => ({ where: `${DASHBOARD} "${e.panel}" ${e.refId}`, expr: e.expr })),
    ...variableQueries.map((q) => ({ where: `${DASHBOARD} variable query`, expr: q })),
    ...testsDoc.tests.flatMap((t, n) => t.input_series.map((s) => ({ where: `${RULE_TESTS} tests[${n}]`, expr: s.series, sample: true }))),
    ...readmeAlerts().map((a) => ({ where: `${ALERTS_DOC} alert ${a.alert}`, expr: a.expr })),
  ];
}

// ---------------------------------------------------------------------------------------------
// promtool

let promtool = '';
let scratch = '';

function run(command: string, args: string[], cwd = ROOT): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}${err && !stdout && !stderr ? err.message : ''}` });
    });
  });
}

beforeAll(async () => {
  // Installs it when missing (Debian's package, extracted); if that fails, every promtool test fails.
  const { code, output } = await run('bash', ['scripts/promtool.sh', 'path']);
  if (code === 0) promtool = output.trim().split('\n').pop()!;
  else console.error(output);
  scratch = mkdtempSync(join(tmpdir(), 'callstream-ops-'));
}, 10 * 60_000);
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function promtoolRun(args: string[], cwd = ROOT): Promise<{ code: number; output: string }> {
  expect(promtool, 'scripts/promtool.sh path found or installed a promtool (its output is printed above)').not.toBe('');
  return run(promtool, args, cwd);
}

/** `promtool test rules` on the unit tests against a copy of the rules with one alert's expression replaced. */
async function testWithExpr(alert: string, expr: string): Promise<{ code: number; output: string }> {
  const text = read(RULES);
  const original = alerts.find((a) => a.alert === alert)!.expr;
  const line = `expr: ${original}\n`;
  expect(text.split(line).length, `${alert}'s expression is one line in ${RULES}`).toBe(2);
  const dir = mkdtempSync(join(scratch, `${alert}-`));
  writeFileSync(join(dir, 'callstream-rules.yml'), text.replace(line, `expr: ${expr}\n`));
  writeFileSync(join(dir, 'callstream-rules.test.yml'), read(RULE_TESTS));
  return promtoolRun(['test', 'rules', 'callstream-rules.test.yml'], dir);
}

describe('ops/prometheus: alert rules and their tests (promtool)', () => {
  it('promtool check rules accepts the rules', async () => {
    const { code, output } = await promtoolRun(['check', 'rules', RULES]);
    expect(code, output).toBe(0);
    expect(output).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('promtool test rules passes the unit tests', async () => {
    const { code, output } = await promtoolRun(['test', 'rules', RULE_TESTS]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/SUCCESS/);
  });

  it('tests every alert at a time it fires and at a time it must not', () => {
    expect(testsDoc.rule_files).toEqual(['callstream-rules.yml']);
    const cases = testsDoc.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${alert} has a case where it fires`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${alert} has a case where it must not fire`).toBe(true);
    }
    for (const c of cases) expect(alerts.map((a) => a.alert), `a test names alert ${c.alertname}`).toContain(c.alertname);
  });

  it("each alert's tests catch an expression that always fires and one that never does", async () => {
    const mutants = alerts.flatMap(({ alert }) => [
      { alert: alert!, expr: 'vector(1)', what: 'always firing' },
      { alert: alert!, expr: 'vector(1) < 0', what: 'never firing' },
    ]);
    const results = await Promise.all(mutants.map((m) => testWithExpr(m.alert, m.expr)));
    mutants.forEach((m, n) => {
      expect(results[n].code, `${m.alert} as ${m.expr} (${m.what}) must fail its tests:\n${results[n].output}`).not.toBe(0);
      expect(results[n].output, `${m.alert}'s own tests are the ones failing`).toContain(`alertname: ${m.alert}`);
    });
  }, 180_000);

  it('every dashboard expression is valid PromQL', async () => {
    // promtool parses each as a recording rule; Grafana's variables are given plain values.
    const grafana = (expr: string): string =>
      expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?(job|instance)\}?/g, '.*');
    const doc = { groups: [{ name: 'dashboard', rules: dashboardExprs.map((e, n) => ({ record: `dashboard:expr_${n}`, expr: grafana(e.expr) })) }] };
    const file = join(scratch, 'dashboard-exprs.yml');
    writeFileSync(file, JSON.stringify(doc, null, 2)); // JSON is YAML
    const { code, output } = await promtoolRun(['check', 'rules', file]);
    expect(code, output).toBe(0);
    expect(dashboardExprs.length).toBeGreaterThan(10);
  });
});

describe('ops/: every metric, label and value exists in the code', () => {
  it('every callstream_ metric name in the dashboard, the rules, their tests and the README table is exposed by src/metrics/metrics.ts', () => {
    const texts = { [DASHBOARD]: read(DASHBOARD), [RULES]: read(RULES), [RULE_TESTS]: read(RULE_TESTS), [`${ALERTS_DOC} (alert table)`]: readmeAlerts().map((a) => a.expr).join('\n') };
    for (const [file, text] of Object.entries(texts)) {
      const names = metricNames(text);
      expect(names.length, `${file} uses callstream metrics`).toBeGreaterThan(0);
      for (const name of names) expect(series(name), `${file}: ${name} is not a metric src/metrics/metrics.ts exposes`).toBeDefined();
    }
  });

  it('every label matched, grouped by or given to a test series is one its metric has', () => {
    for (const { where, expr } of allExpressions()) {
      const used = selectors(expr);
      const allowed = new Set([...TARGET_LABELS, ...used.flatMap((s) => series(s.name)?.labels ?? [])]);
      for (const s of used) {
        const own = new Set([...TARGET_LABELS, ...(series(s.name)?.labels ?? [])]);
        for (const m of s.matchers) expect(own.has(m.label), `${where}: ${s.name} has no label ${m.label}`).toBe(true);
      }
      for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
        for (const label of list.split(',').map((l) => l.trim()).filter(Boolean)) expect(allowed.has(label), `${where}: no metric in it has label ${label}`).toBe(true);
      }
    }
  });

  it('rate() and increase() read counters (or histogram buckets), never gauges', () => {
    for (const { where, expr } of allExpressions()) {
      for (const [, name] of expr.matchAll(/\b(?:rate|irate|increase)\(\s*(callstream_[a-z0-9_]+)/g)) {
        expect(['counter', 'histogram_bucket'], `${where}: ${name} is a ${series(name)?.type}`).toContain(series(name)?.type);
      }
      for (const [, name] of expr.matchAll(/histogram_quantile\([^,]+,.*?(callstream_[a-z0-9_]+)/g)) expect(name, `${where}: histogram_quantile over buckets`).toMatch(/_bucket$/);
    }
  });

  it('error codes matched are codes of src/errors.ts; route matchers match routes the receiver labels', () => {
    // The route label values the receiver uses (src/receiver/server.ts): each registered path (a
    // prefix route as its prefix), the secret-path route of the webhook, "unmatched", "client_error".
    const routes = [CALLARO_PATH, `${CALLARO_PATH}/`, TELEPHONY_PREFIX, '/metrics', '/healthz', '/readyz', 'unmatched', 'client_error'];
    let webhookMatchers = 0;
    for (const { where, expr, sample } of allExpressions()) {
      for (const s of selectors(expr)) {
        for (const m of s.matchers) {
          if (m.label === 'code') {
            for (const code of m.op.endsWith('~') ? m.value.split('|') : [m.value]) expect(Object.keys(ErrorCodes), `${where}: code ${code}`).toContain(code);
          }
          if (m.label !== 'route' || m.op.startsWith('!')) continue;
          const matches = (route: string): boolean => (m.op === '=' ? route === m.value : new RegExp(`^(?:${m.value})$`).test(route));
          expect(routes.some(matches), `${where}: route${m.op}"${m.value}" matches no route`).toBe(true);
          if (!sample && matches(CALLARO_PATH)) {
            webhookMatchers++;
            // With a secret path (CALLSTREAM_SECRET_PATH) the webhook's route label is "/callaro/webhooks/".
            expect(matches(`${CALLARO_PATH}/`), `${where}: route${m.op}"${m.value}" misses the secret-path webhook route`).toBe(true);
            expect(matches(TELEPHONY_PREFIX), `${where}: route${m.op}"${m.value}" takes in the telephony route`).toBe(false);
          }
        }
      }
    }
    expect(webhookMatchers).toBeGreaterThan(0);
  });
});

describe('ops/prometheus: the alerts are the README table', () => {
  const norm = (e: string): string => e.replace(/\s+/g, ' ').trim();

  it('has one alert per row of the table, of that name and with that expression, and no other', () => {
    const table = readmeAlerts();
    expect(table.length).toBeGreaterThanOrEqual(8);
    for (const row of table) {
      const rule = alerts.find((a) => a.alert === row.alert);
      expect(rule, `README row "${row.slo}": ${RULES} has an alert ${row.alert}`).toBeDefined();
      expect(norm(rule!.expr), `${row.alert}'s expression is the README's`).toBe(norm(row.expr));
    }
    expect(alerts.map((a) => a.alert).sort()).toEqual(table.map((r) => r.alert).sort());
  });

  it('every alert has a for:, a severity, a summary, a description and a runbook pointing to the docs section', () => {
    const readme = read(ALERTS_DOC);
    const anchor = README_SECTION.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
    for (const a of alerts) {
      expect(a.for, `${a.alert} for:`).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info'], `${a.alert} severity`).toContain(a.labels?.severity);
      expect(a.annotations?.summary, `${a.alert} summary`).toBeTruthy();
      expect(a.annotations?.description, `${a.alert} description`).toBeTruthy();
      expect(a.annotations?.runbook, `${a.alert} runbook`).toContain(`${ALERTS_DOC}#${anchor}`);
      expect(readme, `${ALERTS_DOC} says what to do for ${a.alert}`).toMatch(new RegExp(`\\*\\*${a.alert}\\*\\*`));
    }
  });
});

describe('ops/grafana: the dashboard imports anywhere', () => {
  it('takes its Prometheus as an input and a variable, and every panel and query uses it', () => {
    expect(dashboard.__inputs).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }));
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' }));
    for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) expect(v.datasource?.uid, `variable ${v.name}`).toBe('${DS_PROMETHEUS}');
    const withQueries = dashboard.panels.filter((p) => p.type !== 'row');
    for (const p of withQueries) {
      expect(p.datasource, `panel "${p.title}"`).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
      expect(p.targets?.length, `panel "${p.title}" has queries`).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.datasource, `panel "${p.title}" ${t.refId}`).toEqual({ type: 'prometheus', uid: '${DS_PROMETHEUS}' });
    }
    expect(JSON.stringify(dashboard)).not.toMatch(/"uid":\s*"(?!\$\{DS_PROMETHEUS\}|callstream"|-- Grafana --)/);
  });

  it('has unique panel ids, panels inside the 24-column grid, and one panel per part of the checklist', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.gridPos.x + p.gridPos.w, `panel "${p.title}"`).toBeLessThanOrEqual(24);
    const exprs = dashboardExprs.map((e) => e.expr).join('\n');
    for (const needed of [
      /sum by \(topic, partition\) \(callstream_sink_consumer_lag/, // backlog by topic and partition
      /sum by \(code\) \(rate\(callstream_requests_rejected_total/, // refusals by code
      /sum by \(route, status\) \(rate\(callstream_http_requests_total/, // answers by route and status
      /callstream_sink_replayed_records_total/, // replay volume
      /callstream_sink_dead_lettered_total/, // dead letters
      /histogram_quantile\(0\.95, sum by \(le\) \(rate\(callstream_sink_write_duration_seconds_bucket/, // write latency
      /histogram_quantile\(0\.95, sum by \(le\) \(rate\(callstream_end_to_end_delay_seconds_bucket/, // end-to-end delay
      /callstream_sink_schema_registry_waits_total/,
      /callstream_publish_errors_total/,
    ]) expect(exprs).toMatch(needed);
  });
});
