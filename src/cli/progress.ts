import cliProgress from 'cli-progress';

/** Where progress goes: process.stderr, or a fake one in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

export interface ProgressOptions {
  /** Names the work in each line, e.g. "replay-raw". */
  label: string;
  /** What is counted, e.g. "records". */
  unit?: string;
  total: number;
  /** Default process.stderr; never stdout, which carries the report scripts parse. */
  stream?: ProgressStream;
  /** Without a terminal: one line this often (default 5 s). */
  intervalMs?: number;
  /** Clock, for tests (default Date.now). */
  now?: () => number;
}

export interface Progress {
  /** How much is done, and optionally a short note shown after the counts ("12 re-published"). */
  update(done: number, note?: string): void;
  /** Ends the bar, or writes the last line; idempotent. */
  stop(): void;
}

/** Seconds as "42s", "3m05s" or "1h02m"; "?" while no rate is known. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(perSecond: number): string {
  return perSecond >= 100 ? Math.round(perSecond).toString() : perSecond.toFixed(1);
}

/**
 * Progress of long work on stderr: on a terminal a bar with counts, rate and ETA (cli-progress);
 * otherwise (a pipe, CI, cron) one log line every intervalMs and one at the end.
 */
export function startProgress(options: ProgressOptions): Progress {
  const { label, unit = 'records', total } = options;
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 5_000;
  const startedAt = now();
  let done = 0;
  let note = '';
  let stopped = false;

  const figures = () => {
    const elapsed = Math.max((now() - startedAt) / 1000, 0.001);
    const rate = done / elapsed;
    const eta = done >= total ? 0 : rate > 0 ? (total - done) / rate : Number.NaN;
    return { elapsed, rate: formatRate(rate), eta: formatDuration(eta), pct: total > 0 ? Math.floor((Math.min(done, total) / total) * 100) : 100 };
  };

  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {etaText}{note}`,
        stream: stream as unknown as NodeJS.WritableStream,
        fps: 5,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
    const payload = () => {
      const f = figures();
      return { rate: f.rate, etaText: f.eta, note: note ? ` | ${note}` : '' };
    };
    bar.start(total, 0, payload());
    return {
      update(value, n) {
        if (stopped) return;
        done = value;
        if (n !== undefined) note = n;
        bar.update(Math.min(done, total), payload());
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.update(Math.min(done, total), payload());
        bar.stop();
      },
    };
  }

  const line = (final: boolean) => {
    const f = figures();
    const tail = final ? `in ${formatDuration(f.elapsed)}` : `ETA ${f.eta}`;
    stream.write(`${label}: ${done}/${total} ${unit} (${f.pct}%), ${f.rate} ${unit}/s, ${tail}${note ? `, ${note}` : ''}\n`);
  };
  const timer = setInterval(() => line(false), intervalMs);
  timer.unref?.();
  return {
    update(value, n) {
      done = value;
      if (n !== undefined) note = n;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      line(true);
    },
  };
}
