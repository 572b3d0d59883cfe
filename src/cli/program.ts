import { Command } from 'commander';
import { NAME, withOneLineErrors, type Done } from './define.js';
import { defineErase } from './definitions/erase.js';
import { defineGaps } from './definitions/gaps.js';
import { defineQuery } from './definitions/query.js';
import { defineRedrive } from './definitions/redrive.js';
import { defineReplayRaw } from './definitions/replay-raw.js';
import { defineReplay } from './definitions/replay.js';
import { defineRun } from './definitions/run.js';
import { defineStatus } from './definitions/status.js';
import { defineTrace } from './definitions/trace.js';

/**
 * Every command, in the order `callstream --help` lists them. A command is two files: its
 * command line (options, help, the checks of a user's mistakes) in definitions/<name>.ts, loaded
 * for every run, and its work in commands/<name>.ts, imported only when it runs.
 */
const COMMANDS: Array<(program: Command, done: Done) => void> = [
  defineRun, // start, receiver, sink
  defineReplay,
  defineReplayRaw,
  defineQuery,
  defineTrace,
  defineGaps,
  defineRedrive,
  defineErase,
  defineStatus,
];

/** All of the command line, built anew for each main() call (tests run it in-process). */
export function buildProgram(version: string, done: Done): Command {
  const program = withOneLineErrors(new Command(NAME), NAME)
    .description('Callaro webhooks -> Kafka (Avro) -> idempotent upserts into DuckDB or BigQuery.')
    .version(version, '-V, --version', 'print the version and exit')
    .option('--verbose', 'on an error, also show its cause chain (as LOG_LEVEL=debug or trace does)')
    .helpOption('-h, --help', 'show this help')
    .helpCommand('help [command]', 'show the help of a command')
    .configureHelp({ showGlobalOptions: true })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      [
        '',
        'Configuration comes from environment variables (KAFKA_BROKERS, CALLSTREAM_WAREHOUSE, CALLSTREAM_CONNECTOR, ...):',
        'every one, with its default, is in docs/configuration.md. `callstream <command> --help` shows a command\'s.',
        '',
        'Examples:',
        '  callstream start                                     # local broker + receiver on :8080 + sink into ./data/',
        '  callstream sink --connector connectors/bigquery-sink.json',
        '  callstream query "SELECT count(*) FROM call_events"',
        '  callstream replay --to-earliest --dry-run',
        '  callstream status --json                             # is it healthy? exit 0 yes, 1 no',
        '  callstream trace vs_12345                            # one call\'s story: requests, dead letters, rows',
        '  callstream erase --phone +14155550100 --dry-run      # what an erasure would delete',
        '  callstream gaps --since 24h                          # calls whose report never came; exit 1 if any',
      ].join('\n'),
    );

  for (const define of COMMANDS) define(program, done);
  return program;
}
