import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../../support/processes.js';
import { runCli, STACK_LINE } from './run-cli.js';

beforeAll(() => ensureBuilt(), 120_000);

describe('callstream status: its help and its usage mistakes', () => {
  it('--help names every option with its default, the variables behind them, the exit codes and an example', () => {
    const run = runCli(['status', '--help']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Usage: callstream status /);
    const text = run.stdout.replace(/\s+/g, ' '); // commander wraps the option column
    for (const name of [
      '--url <url>',
      'http://$HOST:$PORT',
      '--group <group>',
      '--connector <file>',
      '--window <seconds>',
      '(default: 5)',
      '--max-lag <records>',
      '(default: 10000)',
      '--max-dead-letters <records>',
      '(default: 1000)',
      '--max-idle <seconds>',
      '(default: 300)',
      '--timeout <seconds>',
      '--json',
      'HOST',
      'PORT',
      'KAFKA_BROKERS',
      'CALLSTREAM_CONSUMER_GROUP',
      'CALLSTREAM_TOPIC_TELEPHONY_DLQ',
      'Exit status: 0 healthy',
      'since the process started',
      'Environment',
      'Example',
    ]) {
      expect(text, name).toContain(name);
    }
    expect(runCli(['--help']).stdout).toMatch(/^  status /m);
  });

  const cases: Array<[string[], RegExp]> = [
    [['status', '--window', '-1'], /^callstream status: --window '-1' is not valid: expected seconds from 0 to 300; see callstream status --help$/],
    [['status', '--max-lag', 'lots'], /^callstream status: --max-lag 'lots' is not valid: expected a whole number, 0 or more; see/],
    [['status', '--max-dead-letters', '1.5'], /^callstream status: --max-dead-letters '1.5' is not valid: expected a whole number/],
    [['status', '--max-idle', '0'], /^callstream status: --max-idle '0' is not valid: expected seconds from 1 to/],
    [['status', '--timeout', 'soon'], /^callstream status: --timeout 'soon' is not valid/],
    [['status', '--url', 'localhost:8080'], /^callstream status: --url 'localhost:8080' is not valid: expected an http\(s\) URL such as http:\/\/127\.0\.0\.1:8080; see/],
    [['status', '--wndow', '3'], /^callstream status: unknown option '--wndow' \(did you mean --window\?\); see callstream status --help$/],
    [['status', 'now'], /^callstream status: too many arguments for 'status'/],
  ];
  for (const [args, line] of cases) {
    it(`callstream ${args.join(' ')}: one line, exit 2`, () => {
      const run = runCli(args, { KAFKA_BROKERS: '127.0.0.1:1' });
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(line)]);
      expect(run.stderr).not.toMatch(STACK_LINE);
    });
  }

  it('PORT=0 cannot be asked: a one-line refusal naming --url', () => {
    const run = runCli(['status'], { PORT: '0', KAFKA_BROKERS: '127.0.0.1:1' });
    expect(run).toMatchObject({ code: 1, stdout: '', stderr: 'callstream: CFG_INVALID: PORT=0 lets the process pick a free port: give its address with --url, e.g. --url http://127.0.0.1:8080\n' });
  });

  it('nothing up at all (no process, no broker): exit 1 at once, both named', () => {
    const started = Date.now();
    const run = runCli(['status', '--window', '0', '--url', 'http://127.0.0.1:1'], { KAFKA_BROKERS: '127.0.0.1:1' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('  - receiver down: nothing answers at http://127.0.0.1:1/readyz (connect ECONNREFUSED 127.0.0.1:1)');
    expect(run.stdout).toContain('  - Kafka down: no broker listens at 127.0.0.1:1');
  });
});
