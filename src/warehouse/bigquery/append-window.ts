import type { CallstreamError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/** What one try of an append ended in: written now, or found already written at its offset by an earlier try. */
export type AppendOutcome = 'appended' | 'already-there';

/** The write stream under a window: one try at an offset, and the two ways to start over. */
export interface OffsetStream<R> {
  /** Sends rows to be stored at exactly this offset; rejects when the try failed or its answer was lost. */
  appendAt(offset: number, rows: R[]): Promise<AppendOutcome>;
  /** Closes the connection; the next try opens a new one on the same stream. */
  dropConnection(): void;
  /** Forgets the stream; the next try creates a new one, at offset 0. */
  dropStream(): void;
}

export interface AppendStats {
  appends: number;
  /** Tries sent again at the same offset after a failure or a lost answer. */
  retries: number;
  /** Retries answered ALREADY_EXISTS: the try before had landed. */
  alreadyThere: number;
  streams: number;
  rows: number;
  maxAppendBytes: number;
  /** Most appends that were in flight at once. */
  maxInFlight: number;
}

export interface WindowOptions {
  /** Appends sent before the first of them is answered. */
  inFlight: number;
  /** Tries of one append at its offset before the stream is given up. */
  attempts: number;
  retryBaseMs: number;
  /** The table, for messages. */
  table: string;
  /** Maps a failed try to callstream's codes (SINK_ROW_REJECTED: the rows are at fault, nothing was stored). */
  classify(err: unknown, what: string): CallstreamError;
  /** Whether a failure says the stream itself is gone (not found, finalized, ...). */
  streamIsGone(err: unknown): boolean;
}

interface Append<R> {
  rows: R[];
  bytes: number;
  offset: number;
  stored: boolean;
  error?: unknown;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Appends to one offset-checked stream (a COMMITTED write stream), up to `inFlight` at once:
 * each gets the next offset when it is sent, so the API stores them in order and refuses a
 * try at any offset but the stream's end.
 *
 * When a try fails, nothing new is sent until every try in flight has settled; then the
 * failed ones are settled in offset order, one at a time:
 * - an append whose try may have landed (a lost answer, a dropped connection) is sent again
 *   at its own offset; ALREADY_EXISTS says the earlier try landed, so nothing is stored twice;
 * - an append refused for its rows stored nothing: it is rejected, and every append after it
 *   is sent at an offset moved down by its rows (their tries, past the stream's end, cannot
 *   have landed);
 * - after `attempts` tries the stream is given up and the appends after it go to a new one.
 */
export class AppendWindow<R> {
  readonly stats: AppendStats = { appends: 0, retries: 0, alreadyThere: 0, streams: 0, rows: 0, maxAppendBytes: 0, maxInFlight: 0 };
  private nextOffset = 0;
  private readonly waiting: Array<Append<R>> = [];
  /** Sent since the last settled point, in offset order: what a recovery has to look at. */
  private sent: Array<Append<R>> = [];
  private unsettled = 0;
  private failed = false;
  private recovering = false;
  private closed = false;

  constructor(
    private readonly stream: OffsetStream<R>,
    private readonly options: WindowOptions,
    private readonly logger: Logger,
  ) {}

  /** Appends rows after the appends before it; resolves once they are stored. */
  append(rows: R[], bytes: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ rows, bytes, offset: -1, stored: false, resolve, reject });
      this.pump();
    });
  }

  /** Refuses appends not sent yet; those in flight settle on their own. */
  close(): void {
    this.closed = true;
    for (const a of this.waiting.splice(0)) a.reject(this.options.classify(new Error('the warehouse was closed'), `append to ${this.options.table}`));
  }

  private pump(): void {
    while (!this.failed && !this.recovering && !this.closed && this.unsettled < this.options.inFlight && this.waiting.length > 0) {
      const a = this.waiting.shift()!;
      a.offset = this.nextOffset;
      this.nextOffset += a.rows.length;
      this.sent.push(a);
      this.unsettled++;
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.unsettled);
      void this.firstTry(a);
    }
    if (this.closed) this.close();
  }

  private async firstTry(a: Append<R>): Promise<void> {
    try {
      this.store(a, await this.stream.appendAt(a.offset, a.rows));
    } catch (err) {
      a.error = err;
      if (!this.failed) {
        this.failed = true;
        // Tries after this one fail fast on a closed connection instead of waiting for answers.
        if (this.options.classify(err, '').code !== 'SINK_ROW_REJECTED') this.stream.dropConnection();
      }
    }
    this.unsettled--;
    if (!this.failed) {
      while (this.sent.length > 0 && this.sent[0].stored) this.sent.shift();
      this.pump();
    } else if (this.unsettled === 0) {
      void this.recover();
    }
  }

  private async recover(): Promise<void> {
    this.recovering = true;
    this.failed = false;
    const list = this.sent;
    this.sent = [];
    let end = list[0].offset;
    /** An append before was refused or given up: the offsets after it moved down. */
    let moved = false;
    for (const a of list) {
      if (a.stored) {
        if (!moved) end = a.offset + a.rows.length;
        continue;
      }
      let triesSoFar = 1;
      if (moved) {
        // Its try was past the stream's end, so it cannot have landed: sent afresh at the end.
        a.offset = end;
        triesSoFar = 0;
      } else {
        const failure = this.options.classify(a.error, this.what(a));
        if (failure.code === 'SINK_ROW_REJECTED') {
          a.reject(failure);
          moved = true;
          continue;
        }
      }
      try {
        await this.retry(a, triesSoFar);
        end = a.offset + a.rows.length;
      } catch (err) {
        a.reject(err);
        moved = true;
        if ((err as CallstreamError).code !== 'SINK_ROW_REJECTED') end = 0; // the stream was given up
      }
    }
    this.nextOffset = end;
    this.recovering = false;
    this.pump();
  }

  /** Tries an append at its offset until it is stored, refused for its rows, or the tries run out. */
  private async retry(a: Append<R>, triesSoFar: number): Promise<void> {
    for (let attempt = triesSoFar + 1; ; attempt++) {
      if (attempt > 1) {
        this.stats.retries++;
        await new Promise((resolve) => setTimeout(resolve, this.options.retryBaseMs * 4 ** (attempt - 2)));
      }
      try {
        this.store(a, await this.stream.appendAt(a.offset, a.rows));
        return;
      } catch (err) {
        const failure = this.options.classify(err, this.what(a));
        // Refused whole for its rows, nothing stored: the stream stays usable at this offset.
        if (failure.code === 'SINK_ROW_REJECTED') throw failure;
        this.stream.dropConnection();
        if (this.options.streamIsGone(err) || attempt >= this.options.attempts) {
          this.stream.dropStream();
          throw failure;
        }
        this.logger.warn({ table: this.options.table, offset: a.offset, attempt, err: failure.message }, 'append failed; retrying at the same offset');
      }
    }
  }

  private store(a: Append<R>, outcome: AppendOutcome): void {
    if (outcome === 'already-there') {
      this.stats.alreadyThere++;
      this.logger.info({ table: this.options.table, offset: a.offset }, 'append found already committed at its offset (an earlier try landed)');
    }
    a.stored = true;
    this.stats.appends++;
    this.stats.rows += a.rows.length;
    this.stats.maxAppendBytes = Math.max(this.stats.maxAppendBytes, a.bytes);
    a.resolve();
  }

  private what(a: Append<R>): string {
    return `append of ${a.rows.length} rows to ${this.options.table} at offset ${a.offset}`;
  }
}
