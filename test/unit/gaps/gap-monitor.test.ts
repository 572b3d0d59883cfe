import { describe, expect, it } from 'vitest';
import { formatGaps, GapMonitor, type Gap, type GapsSource } from '../../../src/gaps/index.js';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics/index.js';

const logger = createLogger({ level: 'silent' });
const source = (answer: () => Promise<Record<string, unknown>[]>): GapsSource => ({ ask: answer, view: 'call_gaps', epochMs: (c) => c, timestamp: (ms) => String(ms) });
const gauge = async (metrics: Metrics) => Object.fromEntries((await metrics.callGaps.get()).values.map((v) => [v.labels.kind, v.value]));

describe('GapMonitor', () => {
  it('sets the gauge of every kind from one count, 0 for a kind not listed, and keeps it when a count fails', async () => {
    const metrics = new Metrics();
    let fail = false;
    const monitor = new GapMonitor(source(async () => (fail ? Promise.reject(new Error('warehouse down')) : [{ kind: 'unreported', n: '3' }])), metrics, logger, 0);
    await monitor.check();
    expect(await gauge(metrics)).toEqual({ unreported: 3, no_provider: 0, stuck: 0 });
    const checked = (await metrics.callGapsChecked.get()).values[0].value;
    expect(checked).toBeGreaterThan(0);
    fail = true;
    await monitor.check();
    expect(await gauge(metrics)).toEqual({ unreported: 3, no_provider: 0, stuck: 0 });
    expect((await metrics.callGapsChecked.get()).values[0].value).toBe(checked);
  });

  it('counts only while this process is the counting one; when it is not, no kind is shown and the check time is 0', async () => {
    const metrics = new Metrics();
    let asked = 0;
    let counting = true;
    const monitor = new GapMonitor(source(async () => (asked++, [{ kind: 'stuck', n: '2' }])), metrics, logger, 0, () => counting);
    await monitor.check();
    expect(asked).toBe(1);
    expect(await gauge(metrics)).toEqual({ unreported: 0, no_provider: 0, stuck: 2 });
    // A rebalance gave partition 0 of the events topic to another replica: no query, no stale number.
    counting = false;
    await monitor.check();
    expect(asked).toBe(1);
    expect(await gauge(metrics)).toEqual({});
    expect((await metrics.callGapsChecked.get()).values.map((v) => v.value)).toEqual([0]);
    counting = true;
    await monitor.check();
    expect(asked).toBe(2);
    expect(await gauge(metrics)).toEqual({ unreported: 0, no_provider: 0, stuck: 2 });
  });

  it('counts within about a second of becoming the counting one, not an interval later', async () => {
    const metrics = new Metrics();
    let asked = 0;
    let counting = false;
    const monitor = new GapMonitor(source(async () => (asked++, [])), metrics, logger, 3_600_000, () => counting);
    monitor.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(asked).toBe(0);
    counting = true; // the sink joined with partition 0
    await new Promise((r) => setTimeout(r, 1_500));
    expect(asked).toBe(1);
    await monitor.stop();
  });

  it('does not wait long for a count that hangs when it stops', async () => {
    const monitor = new GapMonitor(source(() => new Promise(() => undefined)), new Metrics(), logger, 60_000);
    monitor.start();
    const began = Date.now();
    await monitor.stop();
    expect(Date.now() - began).toBeLessThan(5_000);
  });
});

describe('formatGaps', () => {
  const gap = (extra: Partial<Gap>): Gap => ({ kind: 'unreported', call_sid: 'CA1', call_id: null, tenant_id: null, vendor_slug: 'twilio', last_status: 'completed', last_status_at: Date.UTC(2026, 11, 7, 10), talk_seconds: 42, reported_at: null, evidence_at: Date.UTC(2026, 11, 7, 10), age_minutes: 95, ...extra });
  it('says there are none, or lists each with its evidence, what each kind means and what to run next', () => {
    expect(formatGaps([], { unreported: 0, no_provider: 0, stuck: 0 })).toMatch(/^No gaps in the call_gaps window/);
    const text = formatGaps([gap({}), gap({ kind: 'stuck', call_sid: 'CA2', last_status: 'ringing', talk_seconds: null })], { unreported: 1, no_provider: 0, stuck: 1 });
    expect(text.split('\n')).toEqual([
      '2 gap(s) in the call_gaps window: 1 unreported, 1 stuck',
      '',
      '  unreported  CA1  95 min: last status completed at 2026-12-07T10:00:00Z, talk 42 s (vendor twilio)',
      '  stuck       CA2  95 min: last status ringing at 2026-12-07T10:00:00Z (vendor twilio)',
      '',
      'unreported: the provider says the call ended; no call.completed came (the sender gave up, or its deliveries were refused).',
      "stuck: the provider's last status is not terminal.",
      "Next: callstream trace CA1   (each call's requests, refusals and rows)",
    ]);
  });
});
