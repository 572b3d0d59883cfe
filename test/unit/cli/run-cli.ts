import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../../support/processes.js';

const BIN = fileURLToPath(new URL('../../../bin/callstream.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI (bin/callstream.js, as an operator would) in a clean environment: the
 * test runner's own CALLSTREAM_* variables would be refused as unknown settings.
 */
export function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  ensureBuilt();
  const run = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A line of a JavaScript stack trace. */
export const STACK_LINE = /^\s+at /m;
