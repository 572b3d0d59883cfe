import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { OffsetCommits, type Committable } from '../../../src/sink/offset-commits.js';

const silent = createLogger({ level: 'silent' });
type Sent = Array<{ topic: string; partition: number; offset: string }>;

function setup(commit: (offsets: Sent) => Promise<void> = async () => undefined) {
  const requests: Sent[] = [];
  const committed: Committable[] = [];
  const commits = new OffsetCommits(
    async (offsets) => {
      requests.push(offsets);
      await commit(offsets);
    },
    silent,
    (c) => committed.push(c),
  );
  return { commits, requests, committed };
}

const at = (partition: number, offset: number, epoch: number, topic = 't'): Committable => ({ topic, partition, offset: String(offset), highWatermark: '100', epoch });

describe('OffsetCommits', () => {
  it('commits the written offsets of partitions this member owns in the current epoch', async () => {
    const { commits, requests, committed } = setup();
    commits.assign({ t: [0, 1] });
    commits.written(at(0, 10, commits.epoch));
    await commits.commitWritten();
    expect(requests).toEqual([[{ topic: 't', partition: 0, offset: '10' }]]);
    expect(committed.map((c) => c.offset)).toEqual(['10']);
    expect(commits.pending).toBe(0);
  });

  it('drops offsets fetched before a rebalance, and of partitions it no longer owns', async () => {
    const { commits, requests } = setup();
    commits.assign({ t: [0, 1] });
    const before = commits.epoch;
    commits.revokeAll();
    commits.written(at(0, 10, before));
    await commits.commitWritten();
    commits.assign({ t: [1] });
    commits.written(at(0, 12, commits.epoch));
    commits.written(at(1, 7, before));
    await commits.commitWritten();
    expect(requests).toEqual([]);
    expect(commits.owns('t', 1)).toBe(true);
    expect(commits.owns('t', 0)).toBe(false);
  });

  it('sends one request at a time, the offsets written meanwhile together in the next', async () => {
    let release!: () => void;
    let first = true;
    const { commits, requests } = setup(() => {
      if (!first) return Promise.resolve();
      first = false;
      return new Promise<void>((resolve) => (release = resolve));
    });
    commits.assign({ t: [0, 1, 2] });
    const e = commits.epoch;
    commits.written(at(0, 1, e));
    commits.written(at(1, 5, e));
    commits.written(at(1, 6, e));
    commits.written(at(2, 9, e));
    expect(requests).toHaveLength(1);
    release();
    await commits.commitWritten();
    expect(requests).toEqual([
      [{ topic: 't', partition: 0, offset: '1' }],
      [
        { topic: 't', partition: 1, offset: '6' },
        { topic: 't', partition: 2, offset: '9' },
      ],
    ]);
  });

  it('keeps an offset whose commit failed for the next commit, unless a newer one took its place', async () => {
    let fail = true;
    const { commits, requests } = setup(async () => {
      if (fail) throw new Error('coordinator moved');
    });
    commits.assign({ t: [0, 1] });
    const e = commits.epoch;
    commits.written(at(0, 3, e));
    commits.written(at(1, 4, e));
    await commits.commitWritten();
    expect(commits.pending).toBe(2);
    fail = false;
    commits.written(at(1, 8, e));
    await commits.commitWritten();
    expect([...requests.at(-1)!].sort((a, b) => a.partition - b.partition)).toEqual([
      { topic: 't', partition: 0, offset: '3' },
      { topic: 't', partition: 1, offset: '8' },
    ]);
    expect(commits.pending).toBe(0);
  });

  it('commits nothing once closed', async () => {
    const { commits, requests } = setup();
    commits.assign({ t: [0] });
    commits.close();
    commits.written(at(0, 3, commits.epoch));
    await commits.commitWritten();
    expect(requests).toEqual([]);
  });
});
