#!/usr/bin/env node
// `npm run soak -- --seeds N [--from S] [--size small|large]`, or `--seed S` for one seed;
// also `--nasty surrogate,bigint|none` (default: every class), `--cluster` (three-node
// cluster schedules, needs test/support/kafka-cluster.ts) and `--kind KIND[,KIND...]`: one of
// process|warehouse|broker|cluster|operations|operations-staged, or several to rotate among
// (the operations kinds run only when named: `--kind operations,operations-staged`).
// Runs test/e2e/soak.test.ts with those seeds (SOAK_* variables, see test/soak/options.ts).
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const env = { ...process.env };
let count;
let from = 1;
const value = (i) => {
  if (args[i + 1] === undefined) throw new Error(`${args[i]} needs a value`);
  return args[i + 1];
};
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--seeds') count = Number(value(i++));
  else if (arg === '--from') from = Number(value(i++));
  else if (arg === '--seed') env.SOAK_SEEDS = value(i++);
  else if (arg === '--size') env.SOAK_SIZE = value(i++);
  else if (arg === '--nasty') env.SOAK_NASTY = value(i++);
  else if (arg === '--kind') env.SOAK_KIND = value(i++);
  else if (arg === '--cluster') env.SOAK_CLUSTER = '1';
  else {
    console.error(`unknown argument ${arg}; usage: npm run soak -- --seeds N [--from S] [--size small|large] | --seed S  [--nasty LIST|none] [--cluster] [--kind KIND[,KIND...]]`);
    process.exit(2);
  }
}
if (count !== undefined) {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(from) || from < 0) {
    console.error('--seeds needs a positive integer, --from a non-negative one');
    process.exit(2);
  }
  env.SOAK_SEEDS = Array.from({ length: count }, (_, i) => from + i).join(',');
}
const started = Date.now();
const child = spawn('npx', ['vitest', 'run', 'test/e2e/soak.test.ts', '--disableConsoleIntercept'], { stdio: 'inherit', env });
child.on('exit', (code, signal) => {
  console.log(`soak: seeds ${env.SOAK_SEEDS ?? '(CI default)'} took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exit(code ?? (signal ? 1 : 0));
});
