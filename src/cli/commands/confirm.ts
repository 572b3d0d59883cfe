import { createInterface } from 'node:readline/promises';

/** Asks a yes/no question on a terminal; without one, says to pass --yes and answers no. */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    console.error('Not a terminal: pass --yes to confirm (or --dry-run to look only).');
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
