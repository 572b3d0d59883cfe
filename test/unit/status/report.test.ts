import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/metrics/index.js';
import { formatStatus, judge, parseMetrics, type StatusFacts, type StatusThresholds } from '../../../src/status/index.js';
import { byLabel, valueOf } from '../../../src/status/prometheus.js';
import { seconds } from '../../../src/status/report.js';

const THRESHOLDS: StatusThresholds = { maxLag: 100, maxDeadLetters: 10, maxIdleSeconds: 60 };

/** A healthy pipeline's facts; each test changes what it is about. */
function facts(change: (f: StatusFacts) => void = () => undefined): StatusFacts {
  const f: StatusFacts = {
    checkedAt: '2026-11-27T09:00:00.000Z',
    process: { url: 'http://127.0.0.1:8080', up: true, ready: true, httpStatus: 200, components: { receiver: true, producer: true, sink: true } },
    kafka: { bootstrap: ['127.0.0.1:9092'], up: true, brokers: 1 },
    group: { id: 'callstream-sink', state: 'Stable', members: [{ clientId: 'callstream', host: '/127.0.0.1' }] },
    lag: {
      total: 0,
      topics: [
        { topic: 'callstream.callaro.events', setting: 'CALLSTREAM_TOPIC_EVENTS', exists: true, total: 0, partitions: [{ partition: 0, committed: 10, start: 0, end: 10, lag: 0 }] },
        { topic: 'callstream.telephony.callbacks', setting: 'CALLSTREAM_TOPIC_TELEPHONY', exists: true, total: 0, partitions: [{ partition: 0, committed: null, start: 0, end: 0, lag: 0 }] },
      ],
    },
    deadLetters: {
      total: 0,
      topics: [
        { topic: 'callstream.callaro.dlq', setting: 'CALLSTREAM_TOPIC_DLQ', exists: true, records: 0 },
        { topic: 'callstream.telephony.dlq', setting: 'CALLSTREAM_TOPIC_TELEPHONY_DLQ', exists: true, records: 0 },
      ],
    },
    lastWrite: { known: true, at: '2026-11-27T08:59:58.000Z', idleSeconds: 2, processStartedAt: '2026-11-27T08:00:00.000Z' },
    refusals: { known: true, windowSeconds: 5, total: 3, inWindow: 1, byCode: [{ code: 'RCV_SCHEMA_INVALID', total: 3, inWindow: 1, perSecond: 0.2 }] },
    exhaustion: {
      known: true,
      windowSeconds: 5,
      now: [],
      byResource: [
        { resource: 'memory', total: 0, inWindow: 0 },
        { resource: 'disk', total: 0, inWindow: 0 },
      ],
    },
  };
  change(f);
  return f;
}

const backlog = (n: number) => (f: StatusFacts) => {
  f.lag.total = n;
  f.lag.topics[0].total = n;
  f.lag.topics[0].partitions[0] = { partition: 0, committed: 10, start: 0, end: 10 + n, lag: n };
};

describe('judge: the verdict of `callstream status`', () => {
  it('healthy: no problem, no warning', () => {
    expect(judge(facts(), THRESHOLDS)).toMatchObject({ healthy: true, problems: [], warnings: [], thresholds: THRESHOLDS });
  });

  it('the process down, or not ready, is a problem naming it', () => {
    const down = judge(facts((f) => (f.process = { url: 'http://127.0.0.1:8080', up: false, ready: false, error: 'connect ECONNREFUSED 127.0.0.1:8080' })), THRESHOLDS);
    expect(down).toMatchObject({ healthy: false, problems: ['receiver down: nothing answers at http://127.0.0.1:8080/readyz (connect ECONNREFUSED 127.0.0.1:8080)'] });
    const notReady = judge(facts((f) => Object.assign(f.process, { ready: false, httpStatus: 503, components: { receiver: true, producer: false, sink: false } })), THRESHOLDS);
    expect(notReady.problems).toEqual(['process at http://127.0.0.1:8080 not ready: producer, sink down (GET /readyz answered 503)']);
  });

  it('Kafka down is a problem, and nothing about Kafka is judged beyond it', () => {
    const r = judge(
      facts((f) => {
        f.kafka = { bootstrap: ['b:9092'], up: false, error: 'no broker listens at b:9092' };
        f.group = { id: 'g', error: 'not known (Kafka down)' };
        f.lag = { total: null, topics: [] };
        f.deadLetters = { total: null, topics: [] };
      }),
      THRESHOLDS,
    );
    expect(r.problems).toEqual(['Kafka down: no broker listens at b:9092']);
  });

  it('a missing topic, an unknown or empty group are problems; a rebalance is a warning', () => {
    expect(judge(facts((f) => (f.lag.topics[1].exists = false)), THRESHOLDS).problems).toEqual([
      'topic callstream.telephony.callbacks (CALLSTREAM_TOPIC_TELEPHONY) does not exist: check the name, or start the pipeline once (it creates its topics)',
    ]);
    expect(judge(facts((f) => (f.group = { id: 'g', state: 'Dead', members: [] })), THRESHOLDS).problems).toEqual([
      'no sink consumes: group g is unknown to the cluster (Dead); check CALLSTREAM_CONSUMER_GROUP, or start the sink',
    ]);
    expect(judge(facts((f) => ((f.group = { id: 'g', state: 'Empty', members: [] }), backlog(7)(f))), THRESHOLDS).problems).toEqual(['no sink consumes: group g has no members (Empty); 7 record(s) wait']);
    const rebalancing = judge(facts((f) => (f.group.state = 'PreparingRebalance')), THRESHOLDS);
    expect(rebalancing).toMatchObject({ healthy: true, warnings: [expect.stringContaining('is PreparingRebalance (rebalancing)')] });
  });

  it('lag: unhealthy only above --max-lag', () => {
    expect(judge(facts(backlog(100)), THRESHOLDS).healthy).toBe(true);
    expect(judge(facts(backlog(101)), THRESHOLDS).problems).toEqual(['lag 101 record(s) above --max-lag 100 (callstream.callaro.events 101, callstream.telephony.callbacks 0)']);
  });

  it('dead letters: a warning up to --max-dead-letters, a problem above', () => {
    const some = (n: number) => (f: StatusFacts) => ((f.deadLetters.total = n), (f.deadLetters.topics[1].records = n));
    expect(judge(facts(some(10)), THRESHOLDS)).toMatchObject({ healthy: true, problems: [], warnings: [expect.stringMatching(/^10 dead letter\(s\) \(callstream\.telephony\.dlq 10\): /)] });
    const over = judge(facts(some(11)), THRESHOLDS);
    expect(over).toMatchObject({ healthy: false, warnings: [] });
    expect(over.problems).toEqual([expect.stringMatching(/^11 dead letter\(s\) .*; above --max-dead-letters 10$/)]);
  });

  it('idle: no write for longer than --max-idle is a problem only while records wait', () => {
    const idle = (s: number, at: string | null = '2026-11-27T08:58:00.000Z') => (f: StatusFacts) => (f.lastWrite = { ...f.lastWrite, at, idleSeconds: s });
    expect(judge(facts(idle(600)), THRESHOLDS).healthy).toBe(true); // nothing waits: a quiet pipeline
    expect(judge(facts((f) => (idle(60)(f), backlog(5)(f))), THRESHOLDS).healthy).toBe(true);
    expect(judge(facts((f) => (idle(61)(f), backlog(5)(f))), THRESHOLDS).problems).toEqual([
      'no warehouse write for 1 min 1 s (last 2026-11-27T08:58:00.000Z) while 5 record(s) wait; above --max-idle 60 s',
    ]);
    expect(judge(facts((f) => (idle(3700, null)(f), backlog(5)(f))), THRESHOLDS).problems).toEqual([
      'no warehouse write since the process started 1 h 1 min ago while 5 record(s) wait; above --max-idle 60 s',
    ]);
    // Not known (a receiver-only process): not judged.
    expect(judge(facts((f) => ((f.lastWrite = { known: false, at: null, idleSeconds: null, processStartedAt: null, reason: 'x' }), backlog(5)(f))), THRESHOLDS).healthy).toBe(true);
  });

  it('refusals are reported, and 503s for the broker in the window are a warning', () => {
    const r = judge(facts((f) => f.refusals.byCode.push({ code: 'RCV_BROKER_UNAVAILABLE', total: 9, inWindow: 4, perSecond: 0.8 })), THRESHOLDS);
    expect(r).toMatchObject({ healthy: true, warnings: ['4 request(s) refused with RCV_BROKER_UNAVAILABLE in the last 5 s: the receiver could not store them (the senders retry)'] });
  });

  it('a warehouse out of disk or memory now is a problem naming the resource; faults it got over in the window are a warning', () => {
    const full = judge(
      facts((f) => {
        f.exhaustion.now = ['disk'];
        f.exhaustion.byResource[1] = { resource: 'disk', total: 14, inWindow: 2 };
      }),
      THRESHOLDS,
    );
    expect(full.healthy).toBe(false);
    expect(full.problems).toEqual([
      'warehouse out of disk (SINK_WAREHOUSE_EXHAUSTED): the last write failed for want of it, 14 failed attempt(s) since the process started; the sink retries in smaller pieces and reopens the warehouse, and goes on by itself once there is room: free space where the warehouse file is (docs/operations.md, CallstreamWarehouseExhausted)',
    ]);
    const over = judge(facts((f) => (f.exhaustion.byResource[0] = { resource: 'memory', total: 3, inWindow: 1 })), THRESHOLDS);
    expect(over).toMatchObject({ healthy: true, warnings: ['1 warehouse write attempt(s) ran out of memory in the last 5 s (SINK_WAREHOUSE_EXHAUSTED); the writes since succeeded'] });
    const before = judge(facts((f) => (f.exhaustion.byResource[0] = { resource: 'memory', total: 3, inWindow: 0 })), THRESHOLDS);
    expect(before).toMatchObject({ healthy: true, warnings: [] });
  });
});

describe('formatStatus', () => {
  it('prints the verdict first, the parts, the tables, then problems and warnings', () => {
    const text = formatStatus(judge(facts(backlog(101)), THRESHOLDS));
    const lines = text.split('\n');
    expect(lines[0]).toBe('callstream status: UNHEALTHY (1 problem, 0 warnings; checked 2026-11-27T09:00:00.000Z)');
    expect(text).toContain('  process     http://127.0.0.1:8080: ready: receiver up, producer up, sink up');
    expect(text).toContain('  sink group  callstream-sink: Stable, 1 member (callstream@/127.0.0.1)');
    expect(text).toContain('  last write  2026-11-27T08:59:58.000Z (2 s ago)');
    expect(text).toContain('  warehouse   not exhausted (failed attempts since start: memory 0, disk 0)');
    const full = formatStatus(judge(facts((f) => Object.assign(f.exhaustion, { now: ['disk'], byResource: [{ resource: 'memory', total: 0, inWindow: 0 }, { resource: 'disk', total: 14, inWindow: 2 }] })), THRESHOLDS));
    expect(full).toContain('  warehouse   OUT OF DISK now (failed attempts since start: memory 0, disk 14)');
    const unknown = formatStatus(judge(facts((f) => (f.exhaustion = { known: false, windowSeconds: 5, now: [], byResource: [], reason: 'the process at --url runs no sink (a receiver only)' })), THRESHOLDS));
    expect(unknown).toContain('  warehouse   not known: the process at --url runs no sink (a receiver only)');
    expect(text).toMatch(/^ {2}callstream\.callaro\.events\s+0\s+10\s+111\s+101$/m);
    expect(text).toMatch(/^ {2}callstream\.callaro\.events\s+total\s+101$/m);
    expect(text).toMatch(/^ {2}RCV_SCHEMA_INVALID\s+3\s+1\s+0\.20$/m);
    expect(lines.slice(-2)).toEqual(['Problems (unhealthy):', '  - lag 101 record(s) above --max-lag 100 (callstream.callaro.events 101, callstream.telephony.callbacks 0)']);
    expect(formatStatus(judge(facts(), THRESHOLDS)).split('\n').at(-1)).toBe('No problems, no warnings.');
  });
});

describe('reading /metrics', () => {
  it('finds the last-write gauge and the refusals by code in what the process serves', async () => {
    const m = new Metrics();
    m.rejected.inc({ code: 'RCV_SCHEMA_INVALID' }, 3);
    m.rejected.inc({ code: 'RCV_AUTH_REQUIRED' });
    const samples = parseMetrics((await m.render()).body);
    expect(valueOf(samples, 'callstream_sink_last_write_timestamp_seconds')).toBe(0);
    m.lastWrite.set(1_764_230_400.5);
    const later = parseMetrics((await m.render()).body);
    expect(valueOf(later, 'callstream_sink_last_write_timestamp_seconds')).toBe(1_764_230_400.5);
    expect(valueOf(later, 'callstream_process_process_start_time_seconds')).toBeGreaterThan(1_700_000_000);
    expect(byLabel(later, 'callstream_requests_rejected_total', 'code')).toEqual(new Map([['RCV_SCHEMA_INVALID', 3], ['RCV_AUTH_REQUIRED', 1]]));
  });

  it('serves the exhaustion counter and gauge for each resource from the start, at 0', async () => {
    const m = new Metrics();
    const samples = parseMetrics((await m.render()).body);
    expect(byLabel(samples, 'callstream_sink_warehouse_exhausted_total', 'resource')).toEqual(new Map([['memory', 0], ['disk', 0]]));
    expect(byLabel(samples, 'callstream_sink_warehouse_exhausted', 'resource')).toEqual(new Map([['memory', 0], ['disk', 0]]));
  });

  it('reads escaped label values and skips what it cannot read', () => {
    const samples = parseMetrics('# HELP x y\nx{a="q\\"uote",b="new\\nline"} 1.5\nnot a sample\ny +Inf\n');
    expect(samples).toEqual([
      { name: 'x', labels: { a: 'q"uote', b: 'new\nline' }, value: 1.5 },
      { name: 'y', labels: {}, value: Infinity },
    ]);
  });
});

it('seconds() reads like an operator would say it', () => {
  expect([seconds(0), seconds(59.6), seconds(60), seconds(75), seconds(3600), seconds(3725)]).toEqual(['0 s', '1 min', '1 min', '1 min 15 s', '1 h', '1 h 2 min']);
});
