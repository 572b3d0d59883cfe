/**
 * The compact trace of one schedule: what was sent (one line per delivery with every
 * attempt's answer), the faults as they were injected and healed, and notes. Printed
 * when a schedule fails, so the failure can be read without rerunning it.
 */
export interface TraceLine {
  at: number;
  text: string;
  /** Delivery lines name their op, so a failure can print only the lines it involves. */
  opId?: number;
}

export class Trace {
  readonly t0 = Date.now();
  private readonly lines: TraceLine[] = [];

  stamp(at = Date.now()): string {
    return `+${((at - this.t0) / 1000).toFixed(3)}s`;
  }

  note(text: string, at = Date.now()): void {
    this.lines.push({ at, text });
  }

  fault(text: string, at = Date.now()): void {
    this.lines.push({ at, text: `FAULT ${text}` });
  }

  delivery(opId: number, at: number, text: string): void {
    this.lines.push({ at, text, opId });
  }

  /** Every line in time order, or (with `ops`) the faults and notes plus the lines of those ops; at most `limit` lines. */
  render(options: { ops?: ReadonlySet<number>; limit?: number } = {}): string {
    const chosen = [...this.lines]
      .sort((a, b) => a.at - b.at)
      .filter((l) => !options.ops || l.opId === undefined || options.ops.has(l.opId));
    const limit = options.limit ?? Infinity;
    const shown = chosen.length > limit ? [...chosen.slice(0, Math.floor(limit / 2)), { at: 0, text: `... ${chosen.length - limit} lines left out ...` }, ...chosen.slice(-Math.ceil(limit / 2))] : chosen;
    return shown.map((l) => (l.at ? `${this.stamp(l.at)} ${l.text}` : l.text)).join('\n');
  }
}
