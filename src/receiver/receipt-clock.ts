/**
 * The receipt time (`received_at`), which orders versions of a key (isNewer): never earlier
 * than the last one stamped, so a clock stepped back (NTP) cannot make a later delivery older.
 * One per receiver; `after` raises it above receipt times stamped before this process started
 * (the pipeline reads them from the flow's topics), so a restart onto a clock that is behind
 * keeps the order too.
 */
export class ReceiptClock {
  private last = 0;

  /** `now`: the wall clock, for tests (default Date.now). */
  constructor(private readonly now: () => number = Date.now) {}

  /** The receipt time of a request arriving now. */
  stamp(): number {
    this.last = Math.max(this.now(), this.last);
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
