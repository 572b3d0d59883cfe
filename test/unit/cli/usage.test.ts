import { describe, expect, it } from 'vitest';
import { explain } from '../../../src/cli/main.js';
import { buildProgram } from '../../../src/cli/program.js';
import { errorCodes, GAP_KIND_NAMES, gapKinds, isoTime, positiveInt, REPLAYABLE_CODES, sinceTime, usageLine } from '../../../src/cli/usage.js';
import { GAP_KINDS } from '../../../src/warehouse/views/index.js';
import { CallstreamError } from '../../../src/errors.js';
import { REPLAYABLE_CODES as REPLAY_RULE } from '../../../src/replay/raw-replay.js';

describe('the CLI\'s option values and messages', () => {
  it('keeps its copy of the replayable codes equal to replay-raw\'s own rule', () => {
    expect(REPLAYABLE_CODES).toEqual(REPLAY_RULE);
  });

  it('keeps its copy of the gap kinds equal to the call_gaps view\'s, and parses them comma-separated', () => {
    expect(GAP_KIND_NAMES).toEqual(GAP_KINDS);
    expect(gapKinds('stuck, unreported,stuck')).toEqual(['stuck', 'unreported']);
    expect(() => gapKinds('late')).toThrow(/no such kind late/);
    expect(() => gapKinds(',')).toThrow(/expected one or more of unreported, no_provider, stuck/);
  });

  it('takes --since as a span back from now or an ISO time, and nothing else', () => {
    const now = Date.UTC(2026, 11, 7, 12, 0, 0);
    expect(sinceTime('90m', now).toISOString()).toBe('2026-12-07T10:30:00.000Z');
    expect(sinceTime('24h', now).toISOString()).toBe('2026-12-06T12:00:00.000Z');
    expect(sinceTime('7d', now).toISOString()).toBe('2026-11-30T12:00:00.000Z');
    expect(sinceTime('2026-12-01T00:00:00Z', now).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    for (const bad of ['5', '24 hours', '-3h', '2026-02-30']) expect(() => sinceTime(bad, now), bad).toThrow(/90m, 24h or 7d/);
    expect(positiveInt('200')).toBe(200);
    for (const bad of ['0', '-1', '1.5', 'x']) expect(() => positiveInt(bad), bad).toThrow(/at least 1/);
  });

  it('gives every option its default in the help (the replay targets and subjects excepted: one of them is required)', () => {
    const program = buildProgram('0.0.0', () => undefined);
    const exempt = new Set(['--help', '--version', '--verbose', '--to-earliest', '--from', '--offsets', '--call-id', '--call-sid', '--tenant']);
    for (const command of program.commands) {
      for (const option of command.options) {
        const replayTarget = command.name() === 'replay' && exempt.has(option.long!);
        if (!replayTarget && option.long !== '--help') expect(option.description, `${command.name()} ${option.long}`).toMatch(/\(default: [^)]/);
      }
    }
  });

  it('takes ISO times only, and only days that exist', () => {
    expect(isoTime('2026-11-27T09:00:00Z').toISOString()).toBe('2026-11-27T09:00:00.000Z');
    expect(isoTime('2026-11-27T10:00:00+01:00').toISOString()).toBe('2026-11-27T09:00:00.000Z');
    expect(isoTime('2026-11-27').toISOString()).toBe('2026-11-27T00:00:00.000Z');
    for (const bad of ['yesterday', '5', '2026', '27/11/2026', '2026-02-30', '2026-13-01', '2026-11-27T25:00:00Z', '']) expect(() => isoTime(bad), bad).toThrow(/expected an ISO time/);
  });

  it('tells a code that does not exist (a typo) from one that may not be replayed (a rule)', () => {
    expect(errorCodes(' RCV_SCHEMA_INVALID, RCV_MALFORMED_JSON ')).toEqual(['RCV_SCHEMA_INVALID', 'RCV_MALFORMED_JSON']);
    expect(errorCodes('RCV_AUTH_REQUIRED')).toEqual(['RCV_AUTH_REQUIRED']);
    expect(() => errorCodes('RCV_NOPE')).toThrow(/no such code RCV_NOPE/);
    expect(() => errorCodes(',')).toThrow(/expected one or more/);
  });

  it('turns commander\'s messages into one line with the way to the help', () => {
    expect(usageLine('callstream replay', "error: unknown option '--form'\n(Did you mean --from?)\n")).toBe("callstream replay: unknown option '--form' (did you mean --from?); see callstream replay --help");
    expect(usageLine('callstream replay', "error: option '--from <time>' argument missing\n")).toBe('callstream replay: --from needs a value (<time>); see callstream replay --help');
    expect(usageLine('callstream x', 'error: something\nelse.\n')).toBe('callstream x: something; else; see callstream x --help');
  });

  it('shows the cause chain of a CallstreamError only when asked', () => {
    const err = new CallstreamError('KAFKA_UNAVAILABLE', 'Could not connect to b:9092', { cause: new Error('connect ECONNREFUSED', { cause: 'socket closed' }) });
    expect(explain(err, false)).toBe('callstream: KAFKA_UNAVAILABLE: Could not connect to b:9092 (--verbose shows the cause)');
    expect(explain(err, true).split('\n')).toEqual(['callstream: KAFKA_UNAVAILABLE: Could not connect to b:9092', '  caused by Error: connect ECONNREFUSED', '  caused by socket closed']);
    expect(explain(new CallstreamError('CFG_INVALID', 'x'), false)).toBe('callstream: CFG_INVALID: x');
  });
});
