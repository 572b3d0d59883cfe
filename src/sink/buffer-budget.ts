import type { KafkaMessage } from 'kafkajs';

/** An amount of buffered records: how many, and their bytes (see recordBytes). */
export interface BufferSize {
  records: number;
  bytes: number;
}

/** Waiting for room: what to do meanwhile, and when to give up. */
export interface BudgetWait {
  /** Runs when the wait begins, then every `idleEveryMs` and after each release (the sink heartbeats and asks for a flush). */
  idle: () => Promise<void> | void;
  idleEveryMs: number;
  /** Turns false to give up waiting (the sink is stopping or broken). */
  proceed: () => boolean;
}

/**
 * What a record counts against the budget: the bytes of its key and value as read from
 * Kafka. Cheap (two lengths), and what the sink holds per record until its write ends is
 * about proportional to it: the fetched value, and the row decoded from it (docs/performance.md
 * measures the factor). Headers are small and not counted.
 */
export function recordBytes(message: Pick<KafkaMessage, 'key' | 'value'>): number {
  return (message.key?.length ?? 0) + (message.value?.length ?? 0);
}

/** The size of a fetched batch of records. */
export function batchSize(messages: ReadonlyArray<Pick<KafkaMessage, 'key' | 'value'>>): BufferSize {
  let bytes = 0;
  for (const m of messages) bytes += recordBytes(m);
  return { records: messages.length, bytes };
}

/** The most kafkajs fetches ahead in one request, whatever the budget: the sink's setting before the budget existed. */
const MAX_FETCH_BYTES = 16 * 1024 * 1024;
const MAX_FETCH_BYTES_PER_PARTITION = 2 * 1024 * 1024;

/**
 * kafkajs's fetch limits for a budget: a quarter of it per fetch, at most 16 MiB, and at
 * most 2 MiB of that per partition. kafkajs fetches again only once every batch of the
 * previous response was handled, and a batch waiting for room is not handled yet; so,
 * per broker, one response (at most maxBytes, or one record batch when a partition's first
 * is larger) is held besides the budget.
 */
export function fetchLimits(bufferBytes: number): { maxBytes: number; maxBytesPerPartition: number } {
  const maxBytes = Math.max(1, Math.min(MAX_FETCH_BYTES, Math.floor(bufferBytes / 4)));
  return { maxBytes, maxBytesPerPartition: Math.min(MAX_FETCH_BYTES_PER_PARTITION, maxBytes) };
}

/**
 * The sink's memory bound: records are taken in only while what is held, in records and
 * in bytes, stays within the limits; the rest waits. A batch larger than the whole budget
 * is taken once nothing else is held, and then alone, so it never waits for ever.
 * Records count from the moment they are taken until release() (their write and
 * after-write work ended).
 */
export class BufferBudget {
  private readonly heldNow: BufferSize = { records: 0, bytes: 0 };
  private waiters: Array<() => void> = [];

  constructor(readonly limits: Readonly<BufferSize>) {}

  /** What is held now. */
  get held(): Readonly<BufferSize> {
    return { ...this.heldNow };
  }

  /** Holds `size` at once if it fits, or if nothing is held; false otherwise. */
  tryTake(size: BufferSize): boolean {
    const empty = this.heldNow.records === 0 && this.heldNow.bytes === 0;
    const fits = this.heldNow.records + size.records <= this.limits.records && this.heldNow.bytes + size.bytes <= this.limits.bytes;
    if (!empty && !fits) return false;
    this.heldNow.records += size.records;
    this.heldNow.bytes += size.bytes;
    return true;
  }

  /**
   * Holds `size` once it fits (see tryTake), waiting meanwhile; resolves false, holding
   * nothing, when `wait.proceed()` turned false first.
   */
  async take(size: BufferSize, wait: BudgetWait): Promise<boolean> {
    while (!this.tryTake(size)) {
      if (!wait.proceed()) return false;
      await wait.idle();
      if (this.tryTake(size)) return true;
      if (!wait.proceed()) return false;
      await this.released(wait.idleEveryMs);
    }
    return true;
  }

  /** Gives back what take() or tryTake() held, and wakes whoever waits for room. */
  release(size: BufferSize): void {
    this.heldNow.records -= size.records;
    this.heldNow.bytes -= size.bytes;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next release, or after `ms`. */
  private released(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, ms);
      this.waiters.push(wake);
    });
  }
}
