/**
 * The command line, parsed by commander: mature, small, no dependencies of its own, typed, and it
 * gives what node:util parseArgs did not: --help for every command, --version, "did you mean"
 * for a mistyped option, value parsers, conflicting options, and errors we can turn into one line
 * (exitOverride). clipanion and citty were weighed: clipanion's class-per-command style is heavier
 * than six small commands need, and citty is younger, with less control over error output.
 * Commander 14 is the last line that runs on Node 20 (15 needs Node 22.12).
 *
 * Exit codes: 0 done, 1 the work failed (a CallstreamError, printed as `callstream: <CODE>:
 * <message>`), 2 a user's mistake on the command line (one line and a hint). Anything else is a
 * bug of ours: it is rethrown, and bin/callstream.js prints its stack.
 */
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { CallstreamError } from '../errors.js';
import { buildProgram } from './program.js';
import { USAGE_EXIT } from './usage.js';

/** Entry point of bin/callstream.js (and of in-process tests); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram(packageVersion(), (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return exitCodeOf(err);
    if (err instanceof CallstreamError) {
      const verbose = program.opts().verbose === true || /^(debug|trace)$/i.test(process.env.LOG_LEVEL ?? '');
      console.error(explain(err, verbose));
      return 1;
    }
    throw err;
  }
}

/** Help and --version end commander's parse with an "exit" too; commander says 1 for a mistake, we say 2. */
function exitCodeOf(err: CommanderError): number {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
  // `callstream` alone prints the help on stderr, as a mistake; `callstream help` on stdout.
  if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : USAGE_EXIT;
  return USAGE_EXIT;
}

/** `callstream: <CODE>: <message>`, and with verbose each cause on a line of its own. */
export function explain(err: CallstreamError, verbose: boolean): string {
  const causes: Array<{ text: string; message: string }> = [];
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 5; depth++) {
    if (cause instanceof Error) {
      causes.push({ text: `${cause instanceof CallstreamError ? cause.code : cause.name}: ${cause.message}`, message: cause.message });
      cause = cause.cause;
    } else {
      causes.push({ text: String(cause), message: String(cause) });
      break;
    }
  }
  const head = `callstream: ${err.code}: ${err.message}`;
  if (verbose) return [head, ...causes.map((c) => `  caused by ${c.text}`)].join('\n');
  // Many messages already quote their cause; point to --verbose only when it would show more.
  return causes.some((c) => !err.message.includes(c.message)) ? `${head} (--verbose shows the cause)` : head;
}

function packageVersion(): string {
  // src/cli/ and dist/cli/ are both two levels under the package root.
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
