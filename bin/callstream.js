#!/usr/bin/env node
// The CLI runs the compiled code (npm install builds it through the "prepare" script).
// main() answers a user's mistake with one line and exit 2, a failure (CallstreamError) with one
// line and exit 1; only an unexpected error, a bug of ours, reaches the handler below with its stack.

// kafkajs 2.2.4 arms timers with negative delays (kafkajs issue #1751, not fixed upstream). Node 24
// prints a TimeoutNegativeWarning for each, where Node 20 clamped them to 1 ms without a word: the
// behaviour is the same, so that one warning is dropped; every other one is printed as Node does.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'TimeoutNegativeWarning') return;
  process.stderr.write(`(node:${process.pid}) ${warning.name}: ${warning.message}\n`);
});

let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  // Not built yet, or a dependency missing: the installation's state, not a bug.
  console.error(`callstream: cannot load the CLI (${err.message.split('\n')[0]}); run \`npm install\` (it also builds dist/) or \`npm run build\``);
  process.exit(1);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error('callstream: unexpected error (a bug in callstream; please report it with this output):');
    console.error(err && err.stack ? err.stack : err);
    process.exitCode = 1;
  },
);
