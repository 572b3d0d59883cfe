import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { Metrics } from '../../../src/metrics/index.js';
import { SinkProgress } from '../../../src/sink/progress.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  return { logger, lines };
}

async function lagOf(metrics: Metrics): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
  return (await metrics.lag.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

describe('SinkProgress', () => {
  it('sets the lag gauge per partition at each commit and logs progress while behind', async () => {
    const metrics = new Metrics();
    const { logger, lines } = capture();
    const progress = new SinkProgress(metrics, logger);
    progress.consumed(40);
    progress.committed('t', 1, '60', '100');
    progress.committed('t', 0, '100', '100');
    expect(await lagOf(metrics)).toEqual([
      { labels: { topic: 't', partition: '1' }, value: 40 },
      { labels: { topic: 't', partition: '0' }, value: 0 },
    ]);
    progress.report();
    expect(lines.at(-1)).toMatchObject({ msg: 'sink progress', consumed: 40, behind: 40, lag: { t: { 0: 0, 1: 40 } } });
  });

  it('says nothing when caught up and idle', () => {
    const { logger, lines } = capture();
    const progress = new SinkProgress(new Metrics(), logger);
    progress.committed('t', 0, '100', '100');
    progress.report();
    expect(lines.filter((l) => l.msg === 'sink progress')).toEqual([]);
  });

  it('forgets the lag of partitions revoked from this member', async () => {
    const metrics = new Metrics();
    const progress = new SinkProgress(metrics, capture().logger);
    progress.committed('t', 0, '10', '100');
    progress.committed('t', 1, '20', '100');
    progress.forgetRevoked((topic, partition) => partition === 1);
    expect(await lagOf(metrics)).toEqual([{ labels: { topic: 't', partition: '1' }, value: 80 }]);
  });
});
