import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../../support/processes.js';
import { runCli, STACK_LINE } from './run-cli.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

beforeAll(() => ensureBuilt(), 120_000);

/** What each command's --help must name: its options, and the variables behind them. */
const HELP: Record<string, string[]> = {
  start: ['--connector <file>', 'CALLSTREAM_CONNECTOR', 'KAFKA_BROKERS', 'CALLSTREAM_WAREHOUSE', 'CALLSTREAM_DATA_DIR', 'PORT'],
  receiver: ['--connector <file>', 'CALLSTREAM_CONNECTOR', 'KAFKA_BROKERS', 'PORT', 'CALLSTREAM_AUTH_TOKENS'],
  sink: ['--connector <file>', 'CALLSTREAM_CONNECTOR', 'KAFKA_BROKERS', 'CALLSTREAM_WAREHOUSE', 'CALLSTREAM_CONSUMER_GROUP'],
  replay: ['--to-earliest', '--from <time>', '--offsets <list>', '--topic <topic>', '--group <group>', '--connector <file>', '--dry-run', '--yes', 'CALLSTREAM_TOPIC_EVENTS', 'CALLSTREAM_CONSUMER_GROUP', 'KAFKA_BROKERS'],
  'replay-raw': ['--from <time>', '--to <time>', '--codes <list>', '--dry-run', '--yes', 'RCV_SCHEMA_INVALID', 'CALLSTREAM_TOPIC_RAW', 'KAFKA_BROKERS'],
  query: ['<sql...>', '--json', 'CALLSTREAM_DATA_DIR', 'CALLSTREAM_QUERY_MAX_ROWS'],
};

describe('callstream --help and --version', () => {
  for (const [command, names] of Object.entries(HELP)) {
    it(`${command} --help shows usage, every option, the variables behind them and an example`, () => {
      const run = runCli([command, '--help']);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(new RegExp(`^Usage: callstream ${command} `));
      for (const name of [...names, '-h, --help', '--verbose', 'default:', 'Environment', 'Example']) expect(run.stdout, name).toContain(name);
    });
  }

  it('`callstream --help` and `callstream help` list the commands', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const run = runCli(args);
      expect(run, args.join(' ')).toMatchObject({ code: 0, stderr: '' });
      for (const command of Object.keys(HELP)) expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
      expect(run.stdout).toContain('--version');
    }
    expect(runCli(['help', 'replay'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: callstream replay /) });
  });

  it('`callstream` alone shows the help as a mistake: on stderr, exit 2', () => {
    expect(runCli([])).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^Usage: callstream /) });
  });

  it('--version prints the version of package.json', () => {
    expect(runCli(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect(runCli(['-V'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });
});

describe('a mistake on the command line: one line naming it, exit 2, no stack', () => {
  const cases: Array<[string[], RegExp]> = [
    [['replay', '--form', 'x'], /^callstream replay: unknown option '--form' \(did you mean --from\?\); see callstream replay --help$/],
    [['sink', '--conector', 'connectors/bigquery-sink.json'], /^callstream sink: unknown option '--conector' \(did you mean --connector\?\); see callstream sink --help$/],
    [['start', '-x'], /^callstream start: unknown option '-x'; see callstream start --help$/],
    [['strat'], /^callstream: unknown command 'strat' \(did you mean start\?\); see callstream --help$/],
    [['replay', '--from', 'yesterday'], /^callstream replay: --from 'yesterday' is not valid: expected an ISO time such as 2026-11-27T09:00:00Z; see callstream replay --help$/],
    [['replay', '--from', '5'], /--from '5' is not valid: expected an ISO time/],
    [['replay-raw', '--to', '2026-02-30'], /^callstream replay-raw: --to '2026-02-30' is not valid/],
    [['replay', '--from'], /^callstream replay: --from needs a value \(<time>\); see callstream replay --help$/],
    [['replay'], /^callstream replay: expected one of --to-earliest, --from <time> or --offsets <list>; see callstream replay --help$/],
    [['replay', '--to-earliest', '--from', '2026-11-27T09:00:00Z'], /^callstream replay: option '--to-earliest' cannot be used with option '--from <time>'; see/],
    [['replay', '--from', '2026-11-27T09:00:00Z', '--offsets', '0:1'], /cannot be used with option '--offsets <list>'/],
    [['replay', '--offsets', '0:x'], /^callstream replay: --offsets '0:x' is not valid: expected <partition>:<offset>\[,\.\.\.\], got "0:x"; see/],
    [['replay', 'now', '--to-earliest'], /^callstream replay: too many arguments for 'replay': expected 0 arguments but got 1; see/],
    [['replay-raw', '--from', '2026-02-01T00:00:00Z', '--to', '2026-01-01T00:00:00Z'], /^callstream replay-raw: --from 2026-02-01T00:00:00.000Z is after --to 2026-01-01T00:00:00.000Z; see/],
    [['replay-raw', '--codes', 'RCV_SCHEMA_INVALD'], /^callstream replay-raw: --codes 'RCV_SCHEMA_INVALD' is not valid: no such code RCV_SCHEMA_INVALD; replayable: RCV_SCHEMA_INVALID, /],
    [['query'], /^callstream query: missing required argument 'sql'; see callstream query --help$/],
    [['query', ' '], /^callstream query: expected a SQL statement/],
  ];
  for (const [args, line] of cases) {
    it(`callstream ${args.join(' ')}`, () => {
      const run = runCli(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(line)]);
      expect(run.stderr).not.toMatch(STACK_LINE);
    });
  }
});

describe('a CallstreamError: `callstream: <CODE>: <message>`, exit 1', () => {
  it('query with no warehouse in CALLSTREAM_DATA_DIR says so', () => {
    const empty = mkdtempSync(join(tmpdir(), 'callstream-cli-'));
    const run = runCli(['query', 'SELECT 1'], { CALLSTREAM_DATA_DIR: empty });
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr.trimEnd().split('\n')).toEqual([`callstream: CFG_INVALID: No warehouse at ${join(empty, 'callstream.duckdb')}: start the pipeline first (npm start), or set CALLSTREAM_DATA_DIR`]);
  });

  it('a bad or unknown variable is named, not a stack', () => {
    const bad = runCli(['query', 'SELECT 1'], { CALLSTREAM_QUERY_MAX_ROWS: 'many' });
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/^callstream: CFG_INVALID: Invalid configuration: CALLSTREAM_QUERY_MAX_ROWS="many"/) });
    const typo = runCli(['query', 'SELECT 1'], { CALLSTREAM_QUERY_MAX_ROSW: '5' });
    expect(typo).toMatchObject({ code: 1, stderr: expect.stringMatching(/^callstream: CFG_INVALID: Unknown setting CALLSTREAM_QUERY_MAX_ROSW;/) });
    for (const run of [bad, typo]) expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it('replay-raw refuses an access-control code before connecting anywhere', () => {
    const run = runCli(['replay-raw', '--codes', 'RCV_AUTH_REQUIRED', '--dry-run'], { KAFKA_BROKERS: '127.0.0.1:1' });
    expect(run).toMatchObject({ code: 1, stderr: expect.stringMatching(/^callstream: CFG_INVALID: --codes: RCV_AUTH_REQUIRED cannot be replayed; replayable: /) });
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('shows the cause chain with --verbose (before or after the command) or LOG_LEVEL=debug, and only then', () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'callstream-cli-')), 'nope.json');
    const head = `callstream: CFG_INVALID: Cannot read connector file ${missing}: ENOENT: no such file or directory, open '${missing}'`;
    const cause = `  caused by Error: ENOENT: no such file or directory, open '${missing}'`;
    expect(runCli(['sink', '--connector', missing])).toEqual({ code: 1, stdout: '', stderr: `${head}\n` });
    for (const [args, env] of [
      [['--verbose', 'sink', '--connector', missing], {}],
      [['sink', '--connector', missing, '--verbose'], {}],
      [['sink', '--connector', missing], { LOG_LEVEL: 'debug' }],
    ] as Array<[string[], Record<string, string>]>) {
      expect(runCli(args, env), args.join(' ')).toEqual({ code: 1, stdout: '', stderr: `${head}\n${cause}\n` });
    }
  });
});
