/**
 * Time as the pure cores see it: milliseconds on a monotonic-ish scale. Cores
 * never read the system clock; the daemon passes `systemClock`, the simulator a
 * virtual one it advances itself.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/** A clock the test or simulator moves by hand. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('time cannot go backwards');
    this.t += ms;
  }
  set(ms: number): void {
    if (ms < this.t) throw new RangeError('time cannot go backwards');
    this.t = ms;
  }
}
