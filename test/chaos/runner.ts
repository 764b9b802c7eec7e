/**
 * Runs a schedule on a chaos cluster, checking the invariants throughout.
 *
 *   start:  routers up together → converged (mesh, one ring covering the range)
 *           → initial containers → every sampled pair of containers pings
 *   round:  network faults → CNI bursts and process faults at their offsets,
 *           safety checks every few seconds → end of hold: safety check →
 *           heal (faults off, routers restarted, DELs retried) → converged and
 *           pinging within the recovery bound (recovery time recorded) →
 *           operator steps (rmpeer) → converged again → safety check
 *   end:    memory verdict per long-lived router, summary
 *
 * The first violation stops the run: the caller gets the seed, the reason,
 * the timeline and the routers' log tails.
 */
import { SeededRandom } from '../../common/random.js';
import type { Report } from '../../router/api/report.js';
import { sh } from '../netns/lab.js';
import { type RouterProcess, sleep, tailLogs } from '../netns/routers.js';
import { type ChaosCluster, type ChaosHost, isRunning } from './cluster.js';
import {
  type ContainerObs,
  checkSafety,
  type RingObs,
  type RouterObs,
  ringAgreementProblems,
  type Violation,
} from './invariants.js';
import { type ContainerRecord, Ledger, type LedgerCounts } from './ledger.js';
import {
  DEFAULT_GROWTH_RULE,
  type GrowthRule,
  judgeGrowth,
  type ProcessRss,
  readRssKb,
  startEndMb,
} from './memory.js';
import { describeFaults, NetFaultApplier, type NetFaults, noFaults, partitionCuts } from './netfaults.js';
import {
  type Burst,
  describeRound,
  FAULT_KINDS,
  type FaultKind,
  kindsOf,
  type Round,
  type Schedule,
} from './schedule.js';
import { Timeline } from './timeline.js';

export interface RunOptions {
  /** Rounds start only while the run is within this budget (the first always runs). */
  budgetMs: number;
  /** From the heal until converged and every sampled pair pings. */
  recoveryBoundMs: number;
  /** Bound on operator steps (rmpeer may wait out the mesh's 60 s read deadline). */
  operatorBoundMs: number;
  /** Safety checks this often during a hold. */
  checkEveryMs: number;
  initialContainersPerHost: number;
  maxContainers: number;
  growthRule: GrowthRule;
  echo?: (line: string) => void;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  budgetMs: 90_000,
  recoveryBoundMs: 120_000,
  operatorBoundMs: 150_000,
  checkEveryMs: 4_000,
  initialContainersPerHost: 2,
  maxContainers: 30,
  growthRule: DEFAULT_GROWTH_RULE,
};

export interface RssRow {
  label: string;
  startMb: number;
  endMb: number;
  judged: boolean;
}

export interface RunResult {
  seed: number;
  mode: string;
  ok: boolean;
  failure?: string;
  rounds: number;
  faults: Record<FaultKind, number>;
  counts: LedgerCounts;
  checks: { safety: number; convergence: number; connectivity: number; memory: number };
  recoveriesMs: number[];
  worstRecoveryMs: number;
  rss: RssRow[];
  durationMs: number;
  timeline: Timeline;
  /** Log tails of every router process, for a failure report. */
  logTails: string;
}

export class ChaosFailure extends Error {}

interface Observation {
  routers: RouterObs[];
  reports: Map<number, Report>;
}

export class ChaosRun {
  readonly ledger = new Ledger();
  readonly timeline: Timeline;
  private faults: NetFaults = noFaults();
  private readonly applier: NetFaultApplier;
  private readonly rng: SeededRandom;
  private readonly rss = new Map<RouterProcess, ProcessRss>();
  private readonly names = new Map<number, string>();
  private readonly faultCounts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<
    FaultKind,
    number
  >;
  private readonly checks = { safety: 0, convergence: 0, connectivity: 0, memory: 0 };
  private readonly recoveries: number[] = [];
  /** Errors of background tasks (a router that would not start…): they fail the run. */
  private readonly taskErrors: string[] = [];
  /** Hosts being wiped right now: no new containers there. */
  private readonly wiping = new Set<number>();
  /** Routers stopped with SIGSTOP: not asked anything until SIGCONT. */
  private readonly frozen = new Set<RouterProcess>();
  private roundsRun = 0;

  constructor(
    readonly cluster: ChaosCluster,
    readonly schedule: Schedule,
    readonly opts: RunOptions,
  ) {
    this.timeline = new Timeline(opts.echo);
    this.applier = new NetFaultApplier(cluster.lab);
    // Runtime choices (which containers to sample, DEL) come from their own stream.
    this.rng = new SeededRandom(schedule.seed ^ 0x5eed5eed);
  }

  async run(): Promise<RunResult> {
    let failure: string | undefined;
    try {
      this.timeline.add(
        'event',
        `seed ${this.schedule.seed}, ${this.schedule.mode}, ${this.cluster.hosts.length} hosts`,
      );
      for (const h of this.cluster.running()) await this.track(h.index);
      await this.recover('start-up', 180_000);
      await Promise.all(
        this.cluster
          .present()
          .flatMap((h) =>
            Array.from({ length: this.opts.initialContainersPerHost }, () =>
              this.addContainer(h.index, true),
            ),
          ),
      );
      this.assertNoTaskErrors();
      await this.safetyCheck('initial containers');
      await this.waitFor('initial ping matrix', this.opts.recoveryBoundMs, () => this.pingProblems());
      for (const round of this.schedule.rounds) {
        const elapsed = this.timeline.now();
        if (this.roundsRun > 0 && elapsed + round.holdMs + 20_000 > this.opts.budgetMs) break;
        await this.runRound(round);
        this.roundsRun++;
      }
      this.memoryVerdict();
    } catch (e) {
      failure = e instanceof ChaosFailure ? e.message : `${(e as Error).stack ?? e}`;
      this.timeline.add('VIOLATION', failure.split('\n')[0]!);
    }
    return this.result(failure);
  }

  // ---------------------------------------------------------------- rounds

  private async runRound(r: Round): Promise<void> {
    this.timeline.add('fault', describeRound(r));
    for (const k of kindsOf(r)) this.faultCounts[k]++;
    if (r.replace) await this.replace(r.replace.host);
    this.faults = netFaultsOf(r);
    await this.applyFaults();
    const t0 = this.timeline.now();
    const at = (ms: number, what: string, fn: () => Promise<void>) =>
      this.task(what, async () => {
        const wait = t0 + ms - this.timeline.now();
        if (wait > 0) await sleep(wait);
        await fn();
      });
    const tasks: Promise<void>[] = [];
    for (const b of r.bursts) tasks.push(at(b.atMs, 'burst', () => this.burst(b)));
    if (r.kill) {
      const { hosts, atMs, restartAtMs } = r.kill;
      tasks.push(
        at(atMs, 'kill', async () => {
          for (const h of hosts) await this.cluster.killRouter(h);
          this.timeline.add('fault', `kill -9 ${hosts.map((h) => `h${h}`).join(',')}`);
        }),
      );
      if (restartAtMs !== undefined)
        tasks.push(at(restartAtMs, 'restart', () => this.restartDown(hosts, 'restarted during the fault')));
    }
    if (r.freeze) {
      const { hosts, atMs, thawAtMs } = r.freeze;
      tasks.push(at(atMs, 'freeze', async () => this.freeze(hosts)));
      if (thawAtMs !== undefined) tasks.push(at(thawAtMs, 'thaw', async () => this.thaw('during the fault')));
    }
    if (r.reprovision) {
      const { host, atMs, restartAtMs } = r.reprovision;
      tasks.push(at(atMs, 'reprovision', () => this.wipe(host, true)));
      if (restartAtMs !== undefined)
        tasks.push(
          at(restartAtMs, 'restart', () => this.restartDown([host], 're-provisioned router started')),
        );
    }
    // The operator's rmpeer starts as soon as the host is gone, while the
    // network may still be broken: weft must refuse until it is safe. It is
    // awaited after the heal.
    const operator: Promise<void>[] = [];
    if (r.remove) {
      const { host, atMs, rmpeerFrom } = r.remove;
      const name = this.names.get(host)!;
      const removed = at(atMs, 'remove', () => this.wipe(host, false));
      tasks.push(removed);
      for (const from of [rmpeerFrom, ...(r.remove.rmpeerAlso !== undefined ? [r.remove.rmpeerAlso] : [])])
        operator.push(removed.then(() => this.task('rmpeer', () => this.rmpeerRemoved(host, name, from))));
    }
    const end = t0 + r.holdMs;
    while (this.timeline.now() < end) {
      await sleep(Math.min(this.opts.checkEveryMs, Math.max(0, end - this.timeline.now())));
      this.assertNoTaskErrors();
      await this.safetyCheck('during the fault');
    }
    await Promise.all(tasks);
    this.assertNoTaskErrors();
    await this.safetyCheck('end of the fault');
    await this.heal(r, operator);
  }

  private async heal(r: Round, operator: Promise<void>[]): Promise<void> {
    const t0 = this.timeline.now();
    this.timeline.add('heal', 'network faults removed, stopped routers restarted, failed DELs retried');
    this.thaw('at the heal');
    this.faults = noFaults();
    await this.applyFaults();
    await this.restartDown(
      this.cluster.present().map((h) => h.index),
      'restarted at the heal',
    );
    const bound = this.opts.recoveryBoundMs;
    await this.waitFor('pending DELs to succeed', bound, async () => {
      await this.retryPendingDels();
      return this.ledger.inState(['del-pending', 'deleting']).map((c) => `${c.id} ${c.state}`);
    });
    await this.recover('heal', bound - (this.timeline.now() - t0));
    const took = this.timeline.now() - t0;
    this.recoveries.push(took);
    this.timeline.add('recovered', `in ${(took / 1000).toFixed(1)} s`);

    await Promise.all(operator);
    this.assertNoTaskErrors();
    if (r.remove) {
      const name = this.names.get(r.remove.host)!;
      await this.waitFor(`ring without ${name}`, this.opts.recoveryBoundMs, async () =>
        (await this.rings()).flatMap((g) =>
          g.entries.filter((e) => e.owner.startsWith(`${name}/`)).map((e) => `${e.first} still ${e.owner}`),
        ),
      );
    }
    if (r.reprovision?.rmpeerStale) await this.rmpeerStale(r.reprovision.host, r.reprovision.rmpeerFrom);
    if (r.remove || r.reprovision?.rmpeerStale) await this.recover('after rmpeer', this.opts.recoveryBoundMs);
    await this.safetyCheck('after the heal');
  }

  /** Converged (mesh, rings) and every sampled pair of containers pings, within `boundMs`. */
  private async recover(what: string, boundMs: number): Promise<void> {
    const t0 = this.timeline.now();
    await this.waitFor(`${what}: mesh and ring converged`, boundMs, () => this.convergenceProblems());
    this.checks.convergence++;
    await this.waitFor(`${what}: containers reach each other`, boundMs - (this.timeline.now() - t0), () =>
      this.pingProblems(),
    );
    this.checks.connectivity++;
  }

  // ------------------------------------------------------------ host faults

  private async restartDown(hosts: readonly number[], why: string): Promise<void> {
    const down = hosts.filter((i) => {
      const h = this.cluster.host(i);
      return h.present && !(h.router && isRunning(h.router));
    });
    await Promise.all(down.map((i) => this.startRouter(i)));
    if (down.length) this.timeline.add('event', `${down.map((i) => `h${i}`).join(',')} ${why}`);
  }

  private async startRouter(i: number): Promise<void> {
    await this.cluster.startRouter(i);
    await this.track(i);
  }

  /** Remember a freshly started router: its peer name, and its RSS from now on. */
  private async track(i: number): Promise<void> {
    const h = this.cluster.host(i);
    const r = h.router!;
    this.rss.set(r, {
      label: `h${i}#${h.history.length}`,
      pid: r.child.pid!,
      startedAt: this.timeline.now(),
      samples: [],
    });
    const report = await h.api.json<Report>('/report');
    this.names.set(i, report.router.name);
  }

  private freeze(hosts: readonly number[]): void {
    for (const i of hosts) {
      const r = this.cluster.host(i).router;
      if (!r || !isRunning(r)) continue;
      process.kill(r.child.pid!, 'SIGSTOP');
      this.frozen.add(r);
    }
    this.timeline.add('fault', `SIGSTOP ${hosts.map((h) => `h${h}`).join(',')}`);
  }

  private thaw(why: string): void {
    if (this.frozen.size === 0) return;
    for (const r of this.frozen) if (isRunning(r)) process.kill(r.child.pid!, 'SIGCONT');
    this.timeline.add('event', `SIGCONT ${[...this.frozen].map((r) => `h${r.host.index}`).join(',')} ${why}`);
    this.frozen.clear();
  }

  /** Re-provision (comesBack) or remove a host: router, containers, kernel state and data dir go. */
  private async wipe(i: number, comesBack: boolean): Promise<void> {
    const h = this.cluster.host(i);
    const generation = h.generation;
    this.wiping.add(i);
    const gone = this.ledger.inState(['adding', 'live', 'deleting', 'del-pending'], { index: i, generation });
    // The containers vanish with the machine, before anything else can look.
    this.ledger.destroyHost(i, generation);
    try {
      await this.cluster.wipeHost(
        i,
        gone.map((c) => c.ns),
        comesBack,
      );
    } finally {
      this.wiping.delete(i);
    }
    this.applier.forget(i);
    if (comesBack) await this.applyFaults();
    this.timeline.add(
      'fault',
      `${comesBack ? 're-provisioned' : 'removed for good'}: h${i} (${this.names.get(i)}) with ${gone.length} containers`,
    );
  }

  private async replace(i: number): Promise<void> {
    await this.cluster.replaceHost(i);
    this.applier.forget(i);
    await this.startRouter(i);
    this.timeline.add('event', `replacement machine at h${i} joined as ${this.names.get(i)}`);
  }

  /** The operator removes a host that is gone for good (retrying while weft says it is not safe yet). */
  private async rmpeerRemoved(host: number, name: string, from: number): Promise<void> {
    const body = await this.rmpeer(name, from);
    this.timeline.add(
      'event',
      `rmpeer ${name} (h${host}, gone) from h${from}: ${body.addresses} addresses from ${body.owners.join(',') || 'no owner (it owned nothing)'}`,
    );
  }

  /** rmpeer of a re-provisioned host's earlier incarnations (its containers are gone). */
  private async rmpeerStale(host: number, from: number): Promise<void> {
    const name = this.names.get(host)!;
    const stale = (await this.rings()).flatMap((r) =>
      r.entries.filter((e) => e.owner.startsWith(`${name}/`) && r.dead.includes(e.owner)),
    );
    if (stale.length === 0) {
      this.timeline.add('event', `no earlier incarnation of ${name} owns space: nothing to rmpeer`);
      return;
    }
    const body = await this.rmpeer(name, from);
    this.timeline.add(
      'event',
      `rmpeer ${name} (stale incarnations) from h${from}: ${body.addresses} addresses from ${body.owners.join(',')}`,
    );
    await this.waitFor(`ring without dead incarnations of ${name}`, this.opts.recoveryBoundMs, async () => {
      const rings = await this.rings();
      return rings.flatMap((r) =>
        r.entries
          .filter((e) => e.owner.startsWith(`${name}/`) && r.dead.includes(e.owner))
          .map((e) => `${e.first} ${e.owner}`),
      );
    });
  }

  private async rmpeer(name: string, from: number): Promise<{ owners: string[]; addresses: number }> {
    const api = this.cluster.host(from).api;
    let last = '';
    const refusals = new Set<string>();
    const deadline = this.timeline.now() + this.opts.operatorBoundMs;
    while (this.timeline.now() < deadline) {
      const a = await api
        .request('DELETE', `/peer/${encodeURIComponent(name)}`, 15_000)
        .catch((e: Error) => ({
          status: 0,
          body: e.message,
        }));
      if (a.status === 200) return JSON.parse(a.body) as { owners: string[]; addresses: number };
      last = `${a.status} ${a.body}`;
      const code = /"code":"([A-Z_]+)"/.exec(a.body)?.[1] ?? String(a.status);
      if (!refusals.has(code)) {
        refusals.add(code);
        this.timeline.add(
          'event',
          `rmpeer ${name} from h${from} refused for now: ${a.status} ${a.body.slice(0, 200)}`,
        );
      }
      // 409 PEER_IS_LIVE / OWNERS_UNREACHABLE: not safe yet, as an operator would be told.
      if (a.status !== 409 && a.status !== 0) break;
      await sleep(2_000);
    }
    throw new ChaosFailure(`rmpeer ${name} from h${from} did not succeed: ${last}`);
  }

  // ------------------------------------------------------------ containers

  private liveOrPending(): number {
    return this.ledger.inState(['adding', 'live', 'deleting', 'del-pending']).length;
  }

  private async burst(b: Burst): Promise<void> {
    const ops: Promise<void>[] = [];
    let adds = 0;
    for (const host of b.adds) {
      const h = this.cluster.host(host);
      if (!h.present || this.wiping.has(host) || this.liveOrPending() + adds >= this.opts.maxContainers)
        continue;
      adds++;
      ops.push(this.addContainer(host, false));
    }
    const live = this.ledger.inState(['live']).sort((x, y) => x.id.localeCompare(y.id));
    for (const draw of b.dels) {
      if (live.length === 0) break;
      const [rec] = live.splice(Math.floor(draw * live.length), 1);
      ops.push(this.delContainer(rec!));
    }
    this.timeline.add('event', `burst: ${adds} ADD, ${ops.length - adds} DEL at once`);
    await Promise.all(ops);
  }

  private async addContainer(host: number, mustSucceed: boolean): Promise<void> {
    const h = this.cluster.host(host);
    const generation = h.generation;
    const { id, ns } = await this.cluster.newContainerNs(host);
    if (this.wiping.has(host) || !h.present || h.generation !== generation) {
      // The machine went away before the runtime got to it: no container.
      await this.cluster.deleteContainerNs(ns);
      return;
    }
    this.ledger.begin(id, host, generation, ns);
    const out = await this.cluster.cniAdd(host, id, ns);
    if (out.ok) {
      if (this.ledger.addSucceeded(id, out.ip!, out.result!, this.timeline.now())) return;
      return; // the host was wiped meanwhile: the container is gone
    }
    if (mustSucceed)
      throw new ChaosFailure(`ADD of ${id} on h${host} failed in a healthy cluster: ${out.error}`);
    this.timeline.add('event', `ADD ${id} on h${host} failed: ${out.error?.slice(0, 200)}`);
    if (!this.ledger.addFailed(id)) return;
    await this.finishDel(host, this.ledger.get(id)!);
  }

  private async delContainer(rec: ContainerRecord): Promise<void> {
    if (!this.ledger.delStarted(rec.id)) return;
    await this.finishDel(rec.host, rec);
  }

  private async finishDel(host: number, rec: ContainerRecord): Promise<void> {
    const out = await this.cluster.cniDel(host, rec.id, rec.ns, rec.result);
    if (out.ok) {
      if (this.ledger.delSucceeded(rec.id)) await this.cluster.deleteContainerNs(rec.ns);
    } else if (this.ledger.delFailed(rec.id)) {
      this.timeline.add(
        'event',
        `DEL ${rec.id} on h${host} failed (runtime retries later): ${out.error?.slice(0, 160)}`,
      );
    }
  }

  private async retryPendingDels(): Promise<void> {
    const pending = this.ledger
      .inState(['del-pending'])
      .filter((c) => this.cluster.host(c.host).generation === c.generation);
    await Promise.all(pending.map((c) => this.delContainer(c)));
  }

  // ----------------------------------------------------------- observation

  private async observeRouters(): Promise<Observation> {
    const reports = new Map<number, Report>();
    const routers = await Promise.all(
      this.cluster
        .running()
        .filter((h) => !this.frozen.has(h.router!))
        .map(async (h): Promise<RouterObs> => {
          // Allocations before the ring: an address allocated before the ring
          // was read is in space that was ours when the ring was read.
          const allocations = await h.api
            .json<{ addresses: Array<{ containerId: string; ip: string }> }>('/ip')
            .then((b) => b.addresses.map((a) => ({ containerId: a.containerId, ip: a.ip })))
            .catch(() => null);
          const ring = await h.api.json<RingObs>('/ring?wait=false').catch(() => null);
          const report = await h.api.json<Report>('/report').catch(() => null);
          if (report) reports.set(h.index, report);
          const self = (report?.ipam as { self?: string } | undefined)?.self ?? null;
          return { host: h.index, generation: h.generation, allocations, ring, self };
        }),
    );
    this.sampleRss();
    return { routers, reports };
  }

  private async rings(): Promise<RingObs[]> {
    const { routers } = await this.observeRouters();
    return routers.flatMap((r) => (r.ring ? [r.ring] : []));
  }

  private async observeContainers(records: readonly ContainerRecord[]): Promise<ContainerObs[]> {
    const out: ContainerObs[] = [];
    const queue = records.filter((r) => r.state !== 'released' && r.state !== 'destroyed');
    const worker = async () => {
      for (let rec = queue.shift(); rec; rec = queue.shift()) {
        const r = await sh('ip', ['-n', rec.ns, '-j', '-4', 'addr', 'show']);
        if (r.code !== 0) {
          out.push({ id: rec.id, addresses: /netns|namespace|No such file/i.test(r.stderr) ? null : [] });
          continue;
        }
        const links = JSON.parse(r.stdout || '[]') as Array<{
          ifname: string;
          addr_info?: Array<{ local: string }>;
        }>;
        const eth0 = links.find((l) => l.ifname === 'eth0');
        out.push({ id: rec.id, addresses: (eth0?.addr_info ?? []).map((a) => a.local) });
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    return out;
  }

  private async safetyCheck(when: string): Promise<void> {
    const before = new Map(this.ledger.all().map((r) => [r.id, r.version]));
    const { routers } = await this.observeRouters();
    const containers = await this.observeContainers(this.ledger.all());
    const unsettled = new Set(
      this.ledger
        .all()
        .filter((r) => before.get(r.id) !== r.version)
        .map((r) => r.id),
    );
    const violations = checkSafety(this.ledger.all(), routers, containers, unsettled);
    if (violations.length > 0) this.fail(`safety check (${when})`, violations);
    this.checks.safety++;
  }

  /** What keeps the cluster from being converged (empty: converged). */
  private async convergenceProblems(): Promise<string[]> {
    const present = this.cluster.present();
    const down = present.filter((h) => !(h.router && isRunning(h.router)));
    if (down.length) return down.map((h) => `h${h.index}: router not running`);
    const { routers, reports } = await this.observeRouters();
    const problems = ringAgreementProblems(routers);
    const names = present.map((h) => reports.get(h.index)?.router.name);
    for (const h of present) {
      const rep = reports.get(h.index);
      if (!rep) {
        problems.push(`h${h.index}: no report`);
        continue;
      }
      for (const n of names) {
        if (!n || n === rep.router.name) continue;
        const c = rep.router.connections.find((x) => x.name === n && x.state === 'established');
        if (!c) problems.push(`h${h.index}: no established connection to ${n}`);
        else if (c.encrypted !== (this.schedule.mode === 'encrypted'))
          problems.push(`h${h.index}: connection to ${n} encrypted=${c.encrypted}`);
      }
    }
    return problems;
  }

  /** Ping matrix among a sample: the oldest container of every host plus one at random. */
  private async pingProblems(): Promise<string[]> {
    const live = this.ledger
      .inState(['live'])
      .filter(
        (c) => this.cluster.host(c.host).present && this.cluster.host(c.host).generation === c.generation,
      );
    const sample = new Map<string, ContainerRecord>();
    for (const h of this.cluster.present()) {
      const oldest = live.filter((c) => c.host === h.index).sort((a, b) => a.ackedAt! - b.ackedAt!)[0];
      if (oldest) sample.set(oldest.id, oldest);
    }
    if (live.length) {
      const extra = live[this.rng.int(live.length)]!;
      sample.set(extra.id, extra);
    }
    const picks = [...sample.values()];
    const pairs = picks.flatMap((a) => picks.filter((b) => b.host !== a.host).map((b) => [a, b] as const));
    const failed: string[] = [];
    const queue = [...pairs];
    const worker = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const [a, b] = p;
        const r = await this.cluster.lab.exec(a.ns, 'ping', ['-c', '1', '-W', '1', b.ip!], {
          timeoutMs: 5_000,
        });
        if (r.code !== 0) failed.push(`h${a.host}:${a.ip} → h${b.host}:${b.ip}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return failed;
  }

  // --------------------------------------------------------------- helpers

  private async applyFaults(): Promise<void> {
    await this.applier.apply(
      this.faults,
      this.cluster.present().map((h) => h.host),
    );
    this.timeline.add('event', `underlay faults: ${describeFaults(this.faults)}`);
  }

  /** Poll `probe` (problems; empty = done) until done or the bound, then fail with the last problems. */
  private async waitFor(what: string, boundMs: number, probe: () => Promise<string[]>): Promise<void> {
    const deadline = this.timeline.now() + Math.max(boundMs, 1_000);
    let last: string[] = [];
    for (;;) {
      this.assertNoTaskErrors();
      last = await probe().catch((e: Error) => [`probe failed: ${e.message}`]);
      if (last.length === 0) return;
      if (this.timeline.now() > deadline) break;
      await sleep(1_000);
    }
    throw new ChaosFailure(
      `not within ${(boundMs / 1000).toFixed(0)} s: ${what}:\n  ${last.slice(0, 20).join('\n  ')}`,
    );
  }

  private task(what: string, fn: () => Promise<void>): Promise<void> {
    return fn().catch((e: Error) => {
      if (e instanceof ChaosFailure) this.taskErrors.push(e.message);
      else this.taskErrors.push(`${what}: ${e.stack ?? e}`);
    });
  }

  private assertNoTaskErrors(): void {
    if (this.taskErrors.length) throw new ChaosFailure(this.taskErrors.join('\n'));
  }

  private fail(what: string, violations: Violation[]): never {
    for (const v of violations) this.timeline.add('VIOLATION', `${v.invariant}: ${v.detail}`);
    throw new ChaosFailure(`${what}: ${violations.map((v) => `${v.invariant}: ${v.detail}`).join('; ')}`);
  }

  private sampleRss(): void {
    const t = this.timeline.now();
    for (const h of this.cluster.running()) {
      const p = this.rss.get(h.router!);
      const kb = p ? readRssKb(p.pid) : undefined;
      if (p && kb !== undefined) p.samples.push({ t, kb });
    }
  }

  private memoryVerdict(): void {
    const bad = [...this.rss.values()].map((p) => judgeGrowth(p, this.opts.growthRule)).filter((v) => !v.ok);
    if (bad.length)
      throw new ChaosFailure(
        `router memory grew: ${bad.map((v) => `${v.label} ${(v.earlyKb! / 1024).toFixed(0)} → ${(v.lateKb! / 1024).toFixed(0)} MB`).join(', ')}`,
      );
    this.checks.memory++;
  }

  private result(failure: string | undefined): RunResult {
    const rss = [...this.rss.values()].flatMap((p) => {
      const se = startEndMb(p, this.opts.growthRule.warmupMs);
      return se
        ? [
            {
              label: p.label,
              startMb: se[0],
              endMb: se[1],
              judged: judgeGrowth(p, this.opts.growthRule).judged,
            },
          ]
        : [];
    });
    const logTails = this.cluster.hosts
      .flatMap((h) =>
        h.history.map(
          (r, k) =>
            `--- h${h.index}#${k + 1} (pid ${r.child.pid}) ---\n${tailLogs(r, 15)}${r.stderr ? `\nstderr: ${r.stderr.slice(-500)}` : ''}`,
        ),
      )
      .join('\n');
    return {
      seed: this.schedule.seed,
      mode: this.schedule.mode,
      ok: failure === undefined,
      ...(failure !== undefined ? { failure } : {}),
      rounds: this.roundsRun,
      faults: this.faultCounts,
      counts: { ...this.ledger.counts },
      checks: { ...this.checks },
      recoveriesMs: this.recoveries,
      worstRecoveryMs: Math.max(0, ...this.recoveries),
      rss,
      durationMs: this.timeline.now(),
      timeline: this.timeline,
      logTails,
    };
  }
}

/** The network faults of a round as one declarative state. */
export function netFaultsOf(r: Round): NetFaults {
  const f = noFaults();
  if (r.groups) f.cuts.push(...partitionCuts(r.groups));
  if (r.cuts) f.cuts.push(...r.cuts);
  for (const [h, p] of r.loss ?? []) f.loss.set(h, p);
  for (const [h, k] of r.throttle ?? []) f.throttle.set(h, k);
  return f;
}

export type { ChaosHost };
