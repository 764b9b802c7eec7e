/**
 * What happened, when: faults injected, heals, notable events (an ADD refused,
 * rmpeer answered), invariant checks and their outcome. Printed in full with
 * the seed when a run fails, so the failure can be read (and replayed with
 * `--seeds <seed>`) without re-running.
 */
export type EntryKind = 'fault' | 'heal' | 'event' | 'check' | 'recovered' | 'VIOLATION';

export interface TimelineEntry {
  /** Milliseconds since the run started. */
  t: number;
  kind: EntryKind;
  text: string;
}

export class Timeline {
  readonly entries: TimelineEntry[] = [];
  private readonly t0 = performance.now();

  constructor(private readonly echo?: (line: string) => void) {}

  now(): number {
    return performance.now() - this.t0;
  }

  add(kind: EntryKind, text: string): void {
    const e = { t: this.now(), kind, text };
    this.entries.push(e);
    this.echo?.(formatEntry(e));
  }

  /** The whole timeline (or its last `limit` entries), one line each. */
  format(limit?: number): string {
    const xs = limit === undefined ? this.entries : this.entries.slice(-limit);
    return xs.map(formatEntry).join('\n');
  }
}

export function formatEntry(e: TimelineEntry): string {
  return `${`+${(e.t / 1000).toFixed(1)}s`.padStart(8)}  ${e.kind.padEnd(9)} ${e.text}`;
}
