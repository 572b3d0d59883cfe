import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CallstreamError } from '../../../../src/errors.js';
import { createLogger } from '../../../../src/logger.js';
import { AppendWindow, type AppendOutcome, type OffsetStream } from '../../../../src/warehouse/bigquery/append-window.js';

const silent = createLogger({ level: 'silent' });

/** What a try meets: stored and answered, stored but the answer lost, lost before it was stored, or the stream gone. */
type Fault = 'ok' | 'lost-after' | 'lost-before' | 'gone';

interface Row {
  id: string;
  bad: boolean;
}

/**
 * A COMMITTED write stream as the Storage Write API keeps one: a try stores its rows only at
 * exactly the stream's end; below it the answer is ALREADY_EXISTS (whatever the rows), above
 * it OUT_OF_RANGE; a row the table cannot take refuses the whole request (INVALID_ARGUMENT
 * with row errors). Tries are answered after random delays, so out of order.
 */
class FakeStream implements OffsetStream<Row> {
  readonly streams: Row[][] = [];
  private current?: { rows: Row[]; gone: boolean };
  private tries = 0;

  constructor(
    private readonly faults: Fault[],
    private readonly delays: number[],
  ) {}

  async appendAt(offset: number, rows: Row[]): Promise<AppendOutcome> {
    const n = this.tries++;
    const fault = this.faults[n] ?? 'ok';
    if (!this.current) {
      this.current = { rows: [], gone: false };
      this.streams.push(this.current.rows);
    }
    const stream = this.current;
    await new Promise((resolve) => setTimeout(resolve, this.delays[n % this.delays.length] ?? 0));
    if (fault === 'gone') stream.gone = true;
    if (stream.gone) throw Object.assign(new Error('stream not found'), { code: 5 });
    if (fault === 'lost-before') throw Object.assign(new Error('connection reset'), { code: 14 });
    let outcome: AppendOutcome;
    if (offset < stream.rows.length) outcome = 'already-there';
    else if (offset > stream.rows.length) throw Object.assign(new Error(`offset ${offset} past the end ${stream.rows.length}`), { code: 11 });
    else if (rows.some((r) => r.bad)) throw Object.assign(new Error('row refused'), { code: 3, rowErrors: [{ index: 0 }] });
    else {
      stream.rows.push(...rows);
      outcome = 'appended';
    }
    if (fault === 'lost-after') throw Object.assign(new Error('answer lost'), { code: 4 });
    return outcome;
  }

  dropConnection(): void {}

  dropStream(): void {
    this.current = undefined;
  }
}

function classify(err: unknown, what: string): CallstreamError {
  const e = err as { code?: number; rowErrors?: unknown[]; message?: string };
  const rowFault = e.code === 3 && (e.rowErrors?.length ?? 0) > 0;
  return new CallstreamError(rowFault ? 'SINK_ROW_REJECTED' : 'SINK_WAREHOUSE_UNAVAILABLE', `${what}: ${e.message}`, { cause: err });
}

const streamIsGone = (err: unknown) => [5, 9, 11].includes((err as { code?: number }).code ?? 0);

function windowOver(stream: FakeStream, inFlight: number): AppendWindow<Row> {
  return new AppendWindow<Row>(stream, { inFlight, attempts: 4, retryBaseMs: 0, table: 't', classify, streamIsGone }, silent);
}

const batchesArb = fc.array(
  fc.record({ size: fc.integer({ min: 1, max: 4 }), bad: fc.integer({ min: 0, max: 9 }).map((n) => n < 2) }),
  { minLength: 1, maxLength: 12 },
);

describe('AppendWindow', () => {
  it('sends up to inFlight appends before the first is answered, at consecutive offsets', async () => {
    const offsets: number[] = [];
    let open = 0;
    let most = 0;
    const stream: OffsetStream<Row> = {
      async appendAt(offset) {
        offsets.push(offset);
        most = Math.max(most, ++open);
        await new Promise((resolve) => setTimeout(resolve, 5));
        open--;
        return 'appended';
      },
      dropConnection() {},
      dropStream() {},
    };
    const window = new AppendWindow<Row>(stream, { inFlight: 3, attempts: 4, retryBaseMs: 0, table: 't', classify, streamIsGone }, silent);
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, bad: false }));
    await Promise.all([2, 3, 1, 4, 2].map((n) => window.append(rows(n), n)));
    expect(offsets).toEqual([0, 2, 5, 6, 10]);
    expect(most).toBe(3);
    expect(window.stats).toMatchObject({ appends: 5, rows: 12, maxInFlight: 3, retries: 0 });
  });

  it('stores every resolved append once and nothing of a refused one, whatever the tries meet', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchesArb,
        fc.array(fc.constantFrom<Fault>('ok', 'ok', 'ok', 'lost-after', 'lost-before', 'gone'), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 5 }),
        async (batches, faults, delays, inFlight) => {
          const stream = new FakeStream(faults, delays);
          const window = windowOver(stream, inFlight);
          const sent = batches.map((b, i) => Array.from({ length: b.size }, (_, r) => ({ id: `a${i}-r${r}`, bad: b.bad && r === 0 })));
          const settled = await Promise.allSettled(sent.map((rows) => window.append(rows, rows.length)));
          for (const rows of stream.streams) {
            const ids = rows.map((r) => r.id);
            expect(new Set(ids).size, `a stream holds a row twice: ${ids.join(',')}`).toBe(ids.length);
          }
          const everywhere = new Set(stream.streams.flat().map((r) => r.id));
          settled.forEach((outcome, i) => {
            const ids = sent[i].map((r) => r.id);
            if (outcome.status === 'fulfilled') {
              for (const id of ids) expect(everywhere.has(id), `append ${i} resolved but ${id} is not stored`).toBe(true);
            } else if (sent[i].some((r) => r.bad)) {
              // Refused, or failed on a fault before the API saw its rows: never stored.
              for (const id of ids) expect(everywhere.has(id)).toBe(false);
            } else {
              expect((outcome.reason as CallstreamError).code).toBe('SINK_WAREHOUSE_UNAVAILABLE');
            }
          });
          // Without faults, nothing but refused rows fails.
          if (faults.every((f) => f === 'ok')) {
            settled.forEach((outcome, i) => expect(outcome.status === 'rejected').toBe(sent[i].some((r) => r.bad)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sends the appends after a refused one at offsets moved down by its rows', async () => {
    const stream = new FakeStream([], [3, 0, 1]);
    const window = windowOver(stream, 4);
    const rows = (tag: string, n: number, bad = false) => Array.from({ length: n }, (_, i) => ({ id: `${tag}${i}`, bad }));
    const results = await Promise.allSettled([window.append(rows('a', 2), 2), window.append(rows('b', 3, true), 3), window.append(rows('c', 1), 1), window.append(rows('d', 2), 2)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(stream.streams).toHaveLength(1);
    expect(stream.streams[0].map((r) => r.id)).toEqual(['a0', 'a1', 'c0', 'd0', 'd1']);
    // The next append goes on at the stream's end.
    await window.append(rows('e', 1), 1);
    expect(stream.streams[0].at(-1)?.id).toBe('e0');
  });

  it('sends an append whose answer was lost again at its offset and counts it as already there', async () => {
    const stream = new FakeStream(['ok', 'lost-after'], [0]);
    const window = windowOver(stream, 2);
    const rows = (tag: string) => [{ id: `${tag}0`, bad: false }];
    await Promise.all([window.append(rows('a'), 1), window.append(rows('b'), 1), window.append(rows('c'), 1)]);
    expect(stream.streams[0].map((r) => r.id)).toEqual(['a0', 'b0', 'c0']);
    expect(window.stats).toMatchObject({ alreadyThere: 1, retries: 1, appends: 3 });
  });

  it('gives a gone stream up and goes on with a new one from offset 0', async () => {
    const stream = new FakeStream(['gone'], [0]);
    const window = windowOver(stream, 3);
    const rows = (tag: string) => [{ id: `${tag}0`, bad: false }];
    const results = await Promise.allSettled([window.append(rows('a'), 1), window.append(rows('b'), 1), window.append(rows('c'), 1)]);
    expect(results[0].status).toBe('rejected');
    expect(stream.streams.at(-1)?.map((r) => r.id)).toEqual(['b0', 'c0']);
  });

  it('refuses appends not sent yet once closed', async () => {
    const stream = new FakeStream([], [20]);
    const window = windowOver(stream, 1);
    const first = window.append([{ id: 'a', bad: false }], 1);
    const second = window.append([{ id: 'b', bad: false }], 1);
    window.close();
    await expect(second).rejects.toMatchObject({ code: 'SINK_WAREHOUSE_UNAVAILABLE' });
    await first;
  });
});
