import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/metrics/index.js';

describe('Metrics', () => {
  it('are each documented in the metrics table of docs/operations.md (the process defaults as callstream_process_*)', async () => {
    const readme = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('| `callstream_'));
    const ours = (await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name).filter((name) => !name.startsWith('callstream_process_'));
    expect(ours.length).toBeGreaterThan(10);
    const documented = (name: string) => rows.some((row) => new RegExp(`\`${name}[\`{]`).test(row));
    expect(ours.filter((name) => !documented(name))).toEqual([]);
  });
});
