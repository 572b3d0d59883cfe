#!/usr/bin/env node
// The CLI runs the compiled code (npm install builds it through the "prepare" script).
// main() answers a user's mistake with one line and exit 2, a failure (CallstreamError) with one
// line and exit 1; only an unexpected error, a bug of ours, reaches the handler below with its stack.
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
