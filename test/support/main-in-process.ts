import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

export interface InProcessRun {
  code: number;
  /** What console.log printed, line by line (`out`: joined by newlines, no trailing one). */
  stdout: string;
  out: string;
  /** What console.error printed (and, with stderrWrites, what was written to process.stderr). */
  stderr: string;
  err: string;
  /** console.log and console.error lines in the order printed. */
  all: string;
}

/**
 * Runs `callstream <args>` in this process with `env` set for its length, capturing what it
 * prints: for tests whose pipeline (or query socket) runs in the same process. With
 * `stderrWrites`, stderr is no terminal and its raw writes (progress lines) are captured too.
 */
export async function mainInProcess(args: string[], env: Record<string, string> = {}, options: { stderrWrites?: boolean } = {}): Promise<InProcessRun> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const all: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => {
    stdout.push(`${a.join(' ')}\n`);
    all.push(a.join(' '));
  });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => {
    stderr.push(`${a.join(' ')}\n`);
    all.push(a.join(' '));
  });
  const wasTTY = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  const write = options.stderrWrites ? vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (stderr.push(String(chunk)), true)) : undefined;
  if (options.stderrWrites) Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
  try {
    const code = await main(args);
    const [o, e] = [stdout.join(''), stderr.join('')];
    return { code, stdout: o, out: o.replace(/\n$/, ''), stderr: e, err: e.replace(/\n$/, ''), all: all.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    if (write) {
      write.mockRestore();
      if (wasTTY) Object.defineProperty(process.stderr, 'isTTY', wasTTY);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
