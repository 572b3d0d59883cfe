/**
 * The receipt time (`received_at`), which orders versions of a key (isNewer): never earlier
 * than the last one stamped (and later than it while the clock is behind), so a clock stepped
 * back (NTP) cannot make a later delivery older or tie with an earlier one.
 * One per receiver; `after` raises it above receipt times stamped before this process started
 * (the pipeline reads them from the flow's topics), so a restart onto a clock that is behind
 * keeps the order too.
 */
export class ReceiptClock {
  private last = 0;

  /** `now`: the wall clock, for tests (default Date.now). */
  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The receipt time of a request arriving now. While the wall clock is behind the last stamp
   * (stepped back, or below the floor from the topics), each stamp is 1 ms after the last: a
   * key's next version must not tie with the one before, as isNewer breaks ties by request id.
   */
  stamp(): number {
    const now = this.now();
    this.last = now < this.last ? this.last + 1 : now;
    return this.last;
  }

  /** Every stamp from here on is later than `receivedAt` (a newer version must not tie with it either). */
  after(receivedAt: number): void {
    this.last = Math.max(this.last, receivedAt + 1);
  }

  /** How far the wall clock is behind the stamps (0 when it is not). */
  behindBy(): number {
    return Math.max(0, this.last - this.now());
  }
}
