/**
 * The seeded, bounded fault schedule: a pure function of the seed (and a few
 * limits), so `--seeds 17` replays the same faults in the same order. What
 * happens in the cluster as a result (which ADDs win, how long recovery
 * takes) depends on timing and is not part of the schedule.
 *
 * A schedule is a list of rounds. In each round network faults are applied at
 * once, process faults and CNI bursts happen at given offsets into the hold,
 * and at the end of the hold everything heals (faults removed, stopped routers
 * restarted, operator steps such as rmpeer done) and the suite waits, within a
 * bound, for the cluster to converge and the containers to reach each other.
 *
 * Bounds that keep the schedule within what weft promises (docs/architecture.md,
 * IPAM "Known limits") — outside them an operator error or a double fault is
 * being tested, not weft:
 *   - at most two routers down (killed or frozen) at once, so the ring always
 *     has live holders;
 *   - at most one host re-provisioned per round, never also killed, so a
 *     majority of consensus peers never loses its data dirs;
 *   - a host gone for good is removed with rmpeer only once every other owner
 *     is reachable (otherwise rmpeer refuses, as it should), never forced, and
 *     only one host is gone at a time; a replacement is a new machine (new
 *     data dir, new peer name) at the same underlay address;
 *   - a re-provisioned host's earlier incarnation is rmpeer'd only after its
 *     containers are gone (they went with the host).
 */
import { SeededRandom, shuffled } from '../../common/random.js';

export type Mode = 'encrypted' | 'fastdp';

export const FAULT_KINDS = [
  'partition',
  'long-partition',
  'asymmetric',
  'long-asymmetric',
  'loss',
  'throttle',
  'kill',
  'freeze',
  'reprovision',
  'remove',
  'replace',
  'rmpeer-stale',
  'burst',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Burst {
  atMs: number;
  /** One entry per ADD: the host it runs on. */
  adds: number[];
  /** One draw in [0,1) per DEL: picks among the live containers at that moment. */
  dels: number[];
}

export interface Round {
  index: number;
  /** Network faults for the whole hold. */
  groups?: number[][];
  long?: boolean;
  cuts?: Array<[number, number]>;
  loss?: Array<[host: number, percent: number]>;
  throttle?: Array<[host: number, kbit: number]>;
  /** kill -9; restarted at `restartAtMs` into the hold, or at the heal. */
  kill?: { hosts: number[]; atMs: number; restartAtMs?: number };
  /** The host is wiped (router, data dir, containers, kernel state) and comes back empty. */
  reprovision?: {
    host: number;
    atMs: number;
    restartAtMs?: number;
    rmpeerStale: boolean;
    rmpeerFrom: number;
  };
  /** The host is gone for good; an operator runs rmpeer from `rmpeerFrom` (and a second one from `rmpeerAlso`). */
  remove?: { host: number; atMs: number; rmpeerFrom: number; rmpeerAlso?: number };
  /** SIGSTOP the routers; SIGCONT at `thawAtMs` into the hold, or at the heal. */
  freeze?: { hosts: number[]; atMs: number; thawAtMs?: number };
  /** A new machine takes the removed host's address, at the start of the round. */
  replace?: { host: number };
  bursts: Burst[];
  holdMs: number;
}

export interface Schedule {
  seed: number;
  mode: Mode;
  /** The allocation range (--ipalloc-range). */
  range: string;
  hosts: number;
  rounds: Round[];
}

export interface ScheduleOptions {
  hosts?: number;
  rounds?: number;
  /** Hold of an ordinary round. */
  holdMs?: [min: number, max: number];
  /** Longer than the mesh's 60 s read deadline: connections break. 0 = never. */
  longPartitionChance?: number;
  /** Allow removing a host for good (and replacing it). */
  allowRemove?: boolean;
}

/** Even seeds run without a password (fastdp), odd seeds encrypted (sleeve). */
export function modeOf(seed: number): Mode {
  return seed % 2 === 0 ? 'fastdp' : 'encrypted';
}

/**
 * Seeds 0,1 mod 4 use a roomy range (each router's share outlasts any burst);
 * 2,3 mod 4 a /27 of 30 usable addresses (about 6 per router), so routers run
 * out and ask each other for space (donations, under partitions too) and the
 * range fills up.
 */
export function rangeOf(seed: number): string {
  return (seed >> 1) % 2 === 0 ? '10.32.0.0/22' : '10.32.0.0/27';
}

function between(rng: SeededRandom, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

function pick<T>(rng: SeededRandom, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

export function generateSchedule(seed: number, opts: ScheduleOptions = {}): Schedule {
  const rng = new SeededRandom(seed);
  const n = opts.hosts ?? 5;
  const [holdMin, holdMax] = opts.holdMs ?? [6_000, 18_000];
  const longChance = opts.longPartitionChance ?? 0.2;
  const all = Array.from({ length: n }, (_, i) => i + 1);
  let removed: number | null = null;
  const rounds: Round[] = [];

  for (let index = 0; index < (opts.rounds ?? 200); index++) {
    const round: Round = { index, bursts: [], holdMs: between(rng, holdMin, holdMax) };
    if (removed !== null && rng.next() < 0.5) {
      round.replace = { host: removed };
      removed = null;
    }
    const present = all.filter((h) => h !== removed);

    const roll = rng.next();
    const network = roll < 0.6 || rng.next() < 0.3;
    const processFault = roll >= 0.6 || rng.next() < 0.35;
    if (network) {
      const kind = rng.next();
      if (kind < 0.4) {
        const order = shuffled(present, rng);
        const cutAt = between(rng, 1, order.length - 1);
        const groups = [order.slice(0, cutAt), order.slice(cutAt)];
        if (groups[1]!.length > 2 && rng.next() < 0.3) {
          const third = groups[1]!.splice(between(rng, 1, groups[1]!.length - 1));
          groups.push(third);
        }
        round.groups = groups.map((g) => g.sort());
        if (rng.next() < longChance) {
          round.long = true;
          round.holdMs = between(rng, 65_000, 80_000);
        }
      } else if (kind < 0.6) {
        const pairs = new Map<string, [number, number]>();
        const count = between(rng, 1, 3);
        for (let k = 0; k < count; k++) {
          const [a, b] = shuffled(present, rng);
          pairs.set(`${a}-${b}`, [a!, b!]);
        }
        round.cuts = [...pairs.values()];
        if (rng.next() < longChance) {
          round.long = true;
          round.holdMs = between(rng, 65_000, 80_000);
        }
      } else if (kind < 0.82) {
        round.loss = shuffled(present, rng)
          .slice(0, between(rng, 1, 2))
          .map((h) => [h, pick(rng, [5, 10, 20, 30, 40])]);
      } else {
        round.throttle = shuffled(present, rng)
          .slice(0, between(rng, 1, 2))
          .map((h) => [h, pick(rng, [256, 512, 1024, 4096])]);
      }
    }

    // CNI bursts: ADDs spread over the present hosts, DELs of random live containers.
    const burstCount = rng.next() < 0.8 ? between(rng, 1, 2) : 0;
    for (let b = 0; b < burstCount; b++) {
      round.bursts.push({
        atMs: rng.int(Math.max(1, round.holdMs - 3_000)),
        adds: Array.from({ length: between(rng, 2, 8) }, () => pick(rng, present)),
        dels: Array.from({ length: between(rng, 0, 5) }, () => rng.next()),
      });
    }

    if (processFault) {
      // Often right after a burst starts: a router dies with allocations in flight.
      const firstBurst = round.bursts[0];
      const atMs =
        firstBurst && rng.next() < 0.6
          ? firstBurst.atMs + rng.int(1_500)
          : rng.int(Math.max(1, round.holdMs - 2_000));
      const restartAtMs =
        rng.next() < 0.4 && atMs + 6_000 < round.holdMs ? atMs + between(rng, 2_000, 6_000) : undefined;
      const kind = rng.next();
      const fresh: number | undefined = round.replace?.host;
      const candidates: number[] = present.filter((h) => h !== fresh);
      if (kind < 0.12 && opts.allowRemove !== false && removed === null && !round.replace) {
        const host: number = pick(rng, candidates);
        removed = host;
        const others = shuffled(
          present.filter((h) => h !== host),
          rng,
        );
        round.remove = {
          host,
          atMs,
          rmpeerFrom: others[0]!,
          // Sometimes two operators remove the same peer at once, from two routers.
          ...(rng.next() < 0.3 ? { rmpeerAlso: others[1]! } : {}),
        };
      } else if (kind < 0.35) {
        const host: number = pick(rng, candidates);
        round.reprovision = {
          host,
          atMs,
          ...(restartAtMs !== undefined ? { restartAtMs } : {}),
          rmpeerStale: rng.next() < 0.6,
          rmpeerFrom: pick(rng, present),
        };
      } else if (kind < 0.5) {
        // A paused VM / a stopped process: sockets stay open, nothing answers.
        // Sometimes past the mesh's 60 s read deadline.
        const hosts = shuffled(candidates, rng).slice(0, rng.next() < 0.3 ? 2 : 1);
        const long = rng.next() < longChance;
        if (long) round.holdMs = Math.max(round.holdMs, atMs + between(rng, 65_000, 75_000));
        const thawAtMs =
          !long && rng.next() < 0.5 && atMs + 4_000 < round.holdMs
            ? atMs + between(rng, 2_000, 4_000)
            : undefined;
        round.freeze = { hosts: hosts.sort(), atMs, ...(thawAtMs !== undefined ? { thawAtMs } : {}) };
      } else {
        const hosts = shuffled(candidates, rng).slice(0, rng.next() < 0.3 ? 2 : 1);
        round.kill = { hosts: hosts.sort(), atMs, ...(restartAtMs !== undefined ? { restartAtMs } : {}) };
      }
    }
    rounds.push(round);
  }
  return { seed, mode: modeOf(seed), range: rangeOf(seed), hosts: n, rounds };
}

/** The kinds of fault a round injects (for the summary). */
export function kindsOf(r: Round): FaultKind[] {
  const k: FaultKind[] = [];
  if (r.groups) k.push(r.long ? 'long-partition' : 'partition');
  if (r.cuts) k.push(r.long ? 'long-asymmetric' : 'asymmetric');
  if (r.loss) k.push('loss');
  if (r.throttle) k.push('throttle');
  if (r.kill) k.push('kill');
  if (r.freeze) k.push('freeze');
  if (r.reprovision) k.push('reprovision');
  if (r.reprovision?.rmpeerStale) k.push('rmpeer-stale');
  if (r.remove) k.push('remove');
  if (r.replace) k.push('replace');
  if (r.bursts.length) k.push('burst');
  return k;
}

/** One line for the timeline. */
export function describeRound(r: Round): string {
  const parts: string[] = [];
  if (r.replace) parts.push(`replace h${r.replace.host}`);
  if (r.groups)
    parts.push(
      `${r.long ? 'long ' : ''}partition ${r.groups.map((g) => g.map((h) => `h${h}`).join(',')).join(' | ')}`,
    );
  if (r.cuts)
    parts.push(`${r.long ? 'long ' : ''}asymmetric ${r.cuts.map(([a, b]) => `h${a}↛h${b}`).join(' ')}`);
  if (r.loss) parts.push(`loss ${r.loss.map(([h, p]) => `h${h}:${p}%`).join(' ')}`);
  if (r.throttle) parts.push(`throttle ${r.throttle.map(([h, k]) => `h${h}:${k}kbit`).join(' ')}`);
  if (r.kill)
    parts.push(
      `kill -9 ${r.kill.hosts.map((h) => `h${h}`).join(',')} @${r.kill.atMs}ms` +
        (r.kill.restartAtMs !== undefined ? ` restart @${r.kill.restartAtMs}ms` : ''),
    );
  if (r.freeze)
    parts.push(
      `SIGSTOP ${r.freeze.hosts.map((h) => `h${h}`).join(',')} @${r.freeze.atMs}ms` +
        (r.freeze.thawAtMs !== undefined ? ` SIGCONT @${r.freeze.thawAtMs}ms` : ''),
    );
  if (r.reprovision)
    parts.push(
      `re-provision h${r.reprovision.host} @${r.reprovision.atMs}ms` +
        (r.reprovision.restartAtMs !== undefined ? ` restart @${r.reprovision.restartAtMs}ms` : '') +
        (r.reprovision.rmpeerStale
          ? ` then rmpeer its old incarnation from h${r.reprovision.rmpeerFrom}`
          : ''),
    );
  if (r.remove)
    parts.push(`remove h${r.remove.host} for good @${r.remove.atMs}ms, rmpeer from h${r.remove.rmpeerFrom}`);
  for (const b of r.bursts) parts.push(`burst @${b.atMs}ms +${b.adds.length}/-${b.dels.length}`);
  return `round ${r.index} (hold ${(r.holdMs / 1000).toFixed(1)} s): ${parts.join('; ') || 'calm'}`;
}
