/**
 * Drives one IpamCore by hand for tests: applies its effects (persist to an
 * in-memory disk, replies into a map, messages into an outbox, the wake time),
 * gives each API call an operation number, and restarts the core from its disk.
 */
import { ManualClock } from '../common/clock.js';
import type { WeftError } from '../common/errors.js';
import type { Cidr } from '../common/ip.js';
import { RecordingLogger } from '../common/logger.js';
import { SeededRandom } from '../common/random.js';
import type { Result } from '../common/result.js';
import { IpamCore } from './allocator.js';
import { applyPersistChange } from './memory-state.js';
import type { IpamAnswer, IpamConfig, IpamEffect, PersistedIpam } from './types.js';

export type Outgoing = Exclude<IpamEffect, { kind: 'persist' } | { kind: 'reply' } | { kind: 'wake' }>;

export class CoreDriver {
  readonly clock: ManualClock;
  readonly logger = new RecordingLogger();
  readonly random: SeededRandom;
  disk: PersistedIpam | null;
  core: IpamCore;
  readonly replies = new Map<number, Result<IpamAnswer, WeftError>>();
  outbox: Outgoing[] = [];
  wakeAt: number | null = null;
  persists = 0;
  private nextOp = 1;

  constructor(
    readonly config: IpamConfig,
    opts: { seed?: number; disk?: PersistedIpam | null; clock?: ManualClock } = {},
  ) {
    this.clock = opts.clock ?? new ManualClock(1_000);
    this.random = new SeededRandom(opts.seed ?? 1);
    this.disk = opts.disk ?? null;
    this.core = new IpamCore(
      config,
      { clock: this.clock, random: this.random, logger: this.logger },
      this.disk,
    );
  }

  apply(effects: IpamEffect[]): void {
    for (const e of effects) {
      if (e.kind === 'persist') {
        this.disk = applyPersistChange(this.disk, e.change);
        this.persists++;
      } else if (e.kind === 'reply') this.replies.set(e.op, e.result);
      else if (e.kind === 'wake') this.wakeAt = e.at;
      else this.outbox.push(e);
    }
  }

  start(): this {
    this.apply(this.core.start());
    return this;
  }

  /** Run an operation; returns its result if it was answered at once. */
  op(run: (op: number) => IpamEffect[]): { op: number; result: Result<IpamAnswer, WeftError> | undefined } {
    const op = this.nextOp++;
    this.apply(run(op));
    return { op, result: this.replies.get(op) };
  }

  allocate(id: string, subnet?: Cidr) {
    return this.op((op) => this.core.allocate(op, id, subnet));
  }
  claim(id: string, addr: number, prefix: number) {
    return this.op((op) => this.core.claim(op, id, addr, prefix));
  }
  release(id: string, addr?: number) {
    return this.op((op) => this.core.release(op, id, addr));
  }

  /** Advance time to the requested wake-up (or by `ms`) and tick. */
  advance(ms?: number): void {
    const to = ms !== undefined ? this.clock.now() + ms : (this.wakeAt ?? this.clock.now());
    if (to > this.clock.now()) this.clock.set(to);
    this.apply(this.core.tick());
  }

  /** Crash (drop all in-memory state) and start again from the disk. */
  restart(seed = 99): void {
    this.core = new IpamCore(
      this.config,
      { clock: this.clock, random: new SeededRandom(seed), logger: this.logger },
      this.disk,
    );
    this.outbox = [];
    this.wakeAt = null;
    this.start();
  }

  takeOutbox(): Outgoing[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }
}
