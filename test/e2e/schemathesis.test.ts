import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestReceiver } from '../support/receiver-harness.js';

/**
 * schemathesis (scripts/schemathesis.sh) fuzzes a receiver running in this process, whose
 * in-memory publisher acknowledges, against schemas/openapi.json: no 5xx, every answer as
 * documented. The venv is installed by .ci/run beforehand; if it is missing this run
 * installs it, and if that fails the test fails: it never skips.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Harness = Awaited<ReturnType<typeof startTestReceiver>>;
let h: Harness;

beforeAll(async () => {
  h = await startTestReceiver();
});
afterAll(() => h?.close());

/** Runs a command without blocking this process's event loop (the receiver under test lives here). */
function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('schemathesis against the receiver', () => {
  it('finds no 5xx and no answer that schemas/openapi.json does not describe', async () => {
    const { code, output } = await run('bash', ['scripts/schemathesis.sh', 'run', h.url]);
    if (code !== 0) console.error(output);
    expect(code, `scripts/schemathesis.sh exited ${code}; its output is printed above`).toBe(0);
    expect(output).toMatch(/passed/i);
  }, 300_000);
});
