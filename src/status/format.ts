import { seconds, type StatusReport } from './report.js';

/** The readable form of a report: a summary line, the parts, the tables, then problems and warnings. */
export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  out.push(`callstream status: ${r.healthy ? 'HEALTHY' : 'UNHEALTHY'} (${count(r.problems.length, 'problem')}, ${count(r.warnings.length, 'warning')}; checked ${r.checkedAt})`, '');

  const parts: string[][] = [];
  const p = r.process;
  const components = p.components ? Object.entries(p.components).map(([name, ok]) => `${name} ${ok ? 'up' : 'DOWN'}`).join(', ') : '';
  parts.push(['process', p.url, !p.up ? `DOWN (${p.error})` : p.ready ? `ready: ${components}` : `NOT READY (${p.httpStatus}${components ? `: ${components}` : ''}${p.error ? `; ${p.error}` : ''})`]);
  const k = r.kafka;
  parts.push(['kafka', k.bootstrap.join(','), k.up ? `up, ${count(k.brokers ?? 0, 'broker')}` : `DOWN (${k.error})`]);
  const g = r.group;
  const members = (g.members ?? []).map((m) => `${m.clientId}@${m.host}`).join(', ');
  parts.push(['sink group', g.id, g.error ? g.error : `${g.state}, ${count(g.members?.length ?? 0, 'member')}${members ? ` (${members})` : ''}`]);
  const w = r.lastWrite;
  parts.push(['last write', '', !w.known ? `not known: ${w.reason}` : w.at ? `${w.at} (${seconds(w.idleSeconds ?? 0)} ago)` : `none since the process started${w.idleSeconds === null ? '' : ` ${seconds(w.idleSeconds)} ago`}`]);
  const x = r.exhaustion;
  const attempts = x.byResource.map((e) => `${e.resource} ${e.total}`).join(', ');
  parts.push(['warehouse', '', !x.known ? `not known: ${x.reason}` : `${x.now.length > 0 ? `OUT OF ${x.now.join(' AND ').toUpperCase()} now` : 'not exhausted'} (failed attempts since start: ${attempts})`]);
  out.push(...table(parts.map(([a, b, c]) => [a, b ? `${b}: ${c}` : c])), '');

  if (r.lag.total !== null) {
    out.push(`Consumer lag of ${g.id} (committed offset against the end of each partition): ${r.lag.total} in all`);
    const rows: string[][] = [['topic', 'partition', 'committed', 'end', 'lag']];
    for (const t of r.lag.topics) {
      if (!t.exists) {
        rows.push([t.topic, 'missing', '', '', '']);
        continue;
      }
      for (const x of t.partitions) rows.push([t.topic, String(x.partition), x.committed === null ? 'none' : String(x.committed), String(x.end), String(x.lag)]);
      rows.push([t.topic, 'total', '', '', String(t.total)]);
    }
    out.push(...table(rows, [2, 3, 4]), '');
  }
  if (r.deadLetters.total !== null) {
    out.push(`Dead letters (records in each dead-letter topic): ${r.deadLetters.total} in all`);
    out.push(...table([['topic', 'records'], ...r.deadLetters.topics.map((t) => [t.topic, t.exists ? String(t.records) : 'missing'])], [1]), '');
  }

  const f = r.refusals;
  if (!f.known) out.push(`Refusals: not known (${f.reason})`, '');
  else if (f.inWindow === null) {
    out.push(`Refusals by code, since the process started (--window 0: one scrape, no rate): ${f.total} in all`);
    if (f.byCode.length > 0) out.push(...table([['code', 'since start'], ...f.byCode.map((c) => [c.code, String(c.total)])], [1]));
    out.push('');
  } else {
    out.push(`Refusals by code, since the process started and over the last ${f.windowSeconds} s (two scrapes of /metrics): ${f.total} in all, ${f.inWindow} in the window`);
    const window = `last ${f.windowSeconds} s`;
    if (f.byCode.length > 0) out.push(...table([['code', 'since start', window, 'per second'], ...f.byCode.map((c) => [c.code, String(c.total), String(c.inWindow), (c.perSecond ?? 0).toFixed(2)])], [1, 2, 3]));
    out.push('');
  }

  if (r.problems.length > 0) out.push('Problems (unhealthy):', ...r.problems.map((x) => `  - ${x}`));
  if (r.warnings.length > 0) out.push('Warnings:', ...r.warnings.map((x) => `  - ${x}`));
  if (r.problems.length === 0 && r.warnings.length === 0) out.push('No problems, no warnings.');
  return out.join('\n');
}

/** Aligned columns, two spaces apart, indented; the columns named in `right` are right-aligned. */
function table(rows: string[][], right: number[] = []): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ')}`.trimEnd());
}
