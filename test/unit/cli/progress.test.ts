import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatDuration, startProgress, type ProgressStream } from '../../../src/cli/progress.js';

function fakeStream(isTTY: boolean): ProgressStream & { out: string[] } {
  const out: string[] = [];
  return { isTTY, columns: 120, out, write: (chunk: string) => (out.push(chunk), true) };
}

describe('progress', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('without a terminal, writes one line per interval with done/total, rate and ETA, and one at the end', () => {
    const stream = fakeStream(false);
    let clock = 1_000_000;
    const progress = startProgress({ label: 'replay-raw', total: 1000, stream, intervalMs: 5_000, now: () => clock });
    progress.update(100);
    clock += 4_999;
    vi.advanceTimersByTime(4_999);
    expect(stream.out).toEqual([]);
    progress.update(250, '3 re-published');
    clock += 1;
    vi.advanceTimersByTime(1);
    // 250 in 5 s: 50/s, 750 left: 15 s.
    expect(stream.out).toEqual(['replay-raw: 250/1000 records (25%), 50.0 records/s, ETA 15s, 3 re-published\n']);
    progress.update(500);
    clock += 5_000;
    vi.advanceTimersByTime(5_000);
    expect(stream.out[1]).toBe('replay-raw: 500/1000 records (50%), 50.0 records/s, ETA 10s, 3 re-published\n');
    progress.update(1000, '7 re-published');
    clock += 10_000;
    progress.stop();
    progress.stop();
    expect(stream.out).toHaveLength(3);
    expect(stream.out[2]).toBe('replay-raw: 1000/1000 records (100%), 50.0 records/s, in 20s, 7 re-published\n');
    vi.advanceTimersByTime(60_000);
    expect(stream.out).toHaveLength(3);
    expect(stream.out.join('')).not.toMatch(/\x1b/);
  });

  it('says the ETA is unknown while nothing is done', () => {
    const stream = fakeStream(false);
    let clock = 0;
    startProgress({ label: 'replay g', total: 10, stream, intervalMs: 1_000, now: () => clock });
    clock += 1_000;
    vi.advanceTimersByTime(1_000);
    expect(stream.out).toEqual(['replay g: 0/10 records (0%), 0.0 records/s, ETA ?\n']);
  });

  it('on a terminal, drives a bar with counts, rate and ETA instead of log lines', () => {
    const stream = fakeStream(true);
    let clock = 0;
    const progress = startProgress({ label: 'replay-raw', total: 200, stream, intervalMs: 1_000, now: () => clock });
    clock += 2_000;
    vi.advanceTimersByTime(2_000);
    progress.update(50, '1 re-published');
    vi.advanceTimersByTime(1_000);
    const drawn = stream.out.join('');
    expect(drawn).toMatch(/\x1b\[/); // cursor control: a bar redrawn in place
    expect(drawn).toMatch(/replay-raw \[[█░]+\] 25% \| 50\/200 records \| 25\.0\/s \| ETA 6s \| 1 re-published/);
    expect(drawn).not.toMatch(/records\/s, ETA/); // no log lines
    progress.update(200);
    progress.stop();
    expect(stream.out.join('')).toMatch(/100% \| 200\/200 records/);
  });

  it('formats durations', () => {
    expect([formatDuration(0), formatDuration(59.4), formatDuration(185), formatDuration(3_720), formatDuration(Number.NaN)]).toEqual(['0s', '59s', '3m05s', '1h02m', '?']);
  });
});
