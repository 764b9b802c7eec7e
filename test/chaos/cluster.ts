/**
 * The chaos cluster: five simulated hosts of a netns Lab, each with a real
 * `weft router` process (its own data dir, the real data plane) and
 * "containers" (namespaces) attached by the real weft-net plugin, run the way
 * a runtime runs it. Everything a fault does to a host happens here:
 *
 *   kill -9      the router process dies; its containers, data dir and kernel
 *                state stay (a crashed daemon), and it restarts from the data dir.
 *   re-provision the machine is wiped and reinstalled at the same address:
 *                router killed, every container gone (their namespaces and
 *                veths), the host namespace itself re-created (no bridge, no
 *                VXLAN, no nftables: a fresh kernel), the data dir deleted. Its
 *                router comes back with the same peer name and nothing else.
 *   remove       the machine is gone for good: like re-provision but nothing
 *                comes back at that address until a replacement joins.
 *   replace      a new machine takes the address: fresh namespace, a data dir
 *                of its own (so a new peer name), joins the running cluster.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildTestPlugins, REFERENCE_PLUGINS, type TestPlugins } from '../cni/bundles.js';
import { CniError, type Conflist, TestRuntime } from '../cni/runtime.js';
import { type Host, Lab, mustSh, sh } from '../netns/lab.js';
import {
  makeDataRoot,
  type RouterProcess,
  removeDataRoot,
  sleep,
  startRouter,
  stopRouter,
  tailLogs,
} from '../netns/routers.js';
import { HostApi } from './host-api.js';
import type { Mode } from './schedule.js';

export const CONFLIST: Conflist = { cniVersion: '1.1.0', name: 'weft', plugins: [{ type: 'weft-net' }] };

export interface ChaosHost {
  readonly index: number;
  readonly host: Host;
  /** Bumped whenever the machine is re-provisioned or replaced. */
  generation: number;
  /** False while removed for good (nothing at this address). */
  present: boolean;
  dataDir: string;
  router: RouterProcess | null;
  /** Every router process this host ran, oldest first (for RSS and logs). */
  readonly history: RouterProcess[];
  readonly api: HostApi;
  readonly runtime: TestRuntime;
}

export interface AddOutcome {
  ok: boolean;
  ip?: string;
  result?: Record<string, unknown>;
  error?: string;
}

export class ChaosCluster {
  readonly hosts: ChaosHost[] = [];
  private containerSeq = 0;
  private replacements = 0;

  private constructor(
    readonly lab: Lab,
    readonly root: string,
    readonly plugins: TestPlugins,
    readonly mode: Mode,
    readonly password: string | undefined,
    readonly range: string,
    private readonly logLevel: string,
  ) {}

  static async create(opts: {
    hosts?: number;
    mode: Mode;
    range: string;
    logLevel?: string;
  }): Promise<ChaosCluster> {
    const lab = await Lab.create(opts.hosts ?? 5);
    let root: string | undefined;
    let plugins: TestPlugins | undefined;
    try {
      root = makeDataRoot(lab);
      plugins = buildTestPlugins();
      const password = opts.mode === 'encrypted' ? `chaos ${lab.id}` : undefined;
      const c = new ChaosCluster(
        lab,
        root,
        plugins,
        opts.mode,
        password,
        opts.range,
        opts.logLevel ?? 'info',
      );
      for (const host of lab.hosts) {
        const api = new HostApi(lab, host, root);
        await api.start();
        c.hosts.push({
          index: host.index,
          host,
          generation: 0,
          present: true,
          dataDir: join(root, `h${host.index}`),
          router: null,
          history: [],
          api,
          runtime: new TestRuntime(host.ns, [plugins.binDir, REFERENCE_PLUGINS]),
        });
      }
      // Started together, as a cluster is: all five are in the first ring.
      await Promise.all(c.hosts.map((h) => c.startRouter(h.index)));
      return c;
    } catch (e) {
      plugins?.cleanup();
      await lab.cleanup();
      if (root) removeDataRoot(root);
      throw e;
    }
  }

  host(i: number): ChaosHost {
    const h = this.hosts[i - 1];
    if (!h) throw new Error(`no host ${i}`);
    return h;
  }

  present(): ChaosHost[] {
    return this.hosts.filter((h) => h.present);
  }

  /** Present hosts whose router process is running. */
  running(): ChaosHost[] {
    return this.hosts.filter((h) => h.present && h.router && isRunning(h.router));
  }

  routerArgs(): string[] {
    return ['--ipalloc-range', this.range, '--ipalloc-init', 'consensus=5', '--log-level', this.logLevel];
  }

  /** Start host i's router from its data dir (waits until its API answers). */
  async startRouter(i: number): Promise<RouterProcess> {
    const h = this.host(i);
    if (!h.present) throw new Error(`host ${i} is removed`);
    if (h.router && isRunning(h.router)) throw new Error(`router on h${i} is running`);
    const peers = this.hosts.filter((x) => x.index !== i).map((x) => x.host.ip);
    const r = await startRouter(this.lab, h.host, this.root, {
      peers,
      dataDir: h.dataDir,
      args: this.routerArgs(),
      ...(this.password ? { password: this.password } : {}),
      waitReady: false,
    });
    h.router = r;
    h.history.push(r);
    await this.waitApi(h, r);
    return r;
  }

  /** Until the API answers through the forwarder (or the process dies). */
  private async waitApi(h: ChaosHost, r: RouterProcess, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!isRunning(r))
        throw new Error(`router on h${h.index} exited during start-up: ${r.stderr.trim() || tailLogs(r)}`);
      const ok = await h.api.request('GET', '/report', 2_000).then(
        (a) => a.status === 200,
        () => false,
      );
      if (ok) return;
      await sleep(200);
    }
    throw new Error(`router on h${h.index} did not answer within ${timeoutMs} ms: ${tailLogs(r)}`);
  }

  async killRouter(i: number): Promise<void> {
    const h = this.host(i);
    if (h.router && isRunning(h.router)) await stopRouter(this.lab, h.router, 'SIGKILL');
  }

  /**
   * The machine is wiped: router killed, its containers' namespaces deleted,
   * the host namespace re-created empty (same address), the data dir deleted.
   * `comesBack` false: the machine is gone for good (no namespace at all).
   */
  async wipeHost(i: number, containerNamespaces: readonly string[], comesBack: boolean): Promise<void> {
    const h = this.host(i);
    await this.killRouter(i);
    await h.api.stop();
    await killEverythingIn(h.host.ns);
    // Pull the cable first: deleting the underlay port takes the host's eth0
    // with it at once, whereas the namespace itself is torn down by the kernel
    // asynchronously (seconds on a loaded machine) and would meanwhile still
    // answer for the host's address on the underlay.
    await sh('ip', ['-n', this.lab.underlayNs, 'link', 'del', `p${i}`]);
    for (const ns of containerNamespaces) await sh('ip', ['netns', 'delete', ns]);
    await sh('ip', ['netns', 'delete', h.host.ns]);
    rmSync(h.dataDir, { recursive: true, force: true });
    h.generation++;
    h.router = null;
    if (comesBack) await this.recreateHostNamespace(h);
    else h.present = false;
  }

  /** A new machine at a removed host's address: new namespace, new data dir (a new peer name). */
  async replaceHost(i: number): Promise<void> {
    const h = this.host(i);
    if (h.present) throw new Error(`host ${i} is present`);
    h.dataDir = join(this.root, `h${i}-replacement${++this.replacements}`);
    h.generation++;
    await this.recreateHostNamespace(h);
    h.present = true;
  }

  private async recreateHostNamespace(h: ChaosHost): Promise<void> {
    const { lab } = this;
    const ns = h.host.ns;
    await mustSh('ip', ['netns', 'add', ns]);
    await lab.ipIn(ns, ['link', 'set', 'lo', 'up']);
    // The old port was deleted synchronously (wipeHost); retry in case the
    // kernel is still releasing its name.
    const port = `p${h.index}`;
    for (let attempt = 0; ; attempt++) {
      const r = await sh('ip', [
        '-n',
        ns,
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        lab.underlayNs,
      ]);
      if (r.code === 0) break;
      if (attempt > 300) throw new Error(`re-creating ${ns}: ${r.stderr.trim()}`);
      await sleep(100);
    }
    await lab.ipIn(ns, ['addr', 'add', `${h.host.ip}/24`, 'dev', 'eth0']);
    await lab.ipIn(ns, ['link', 'set', 'eth0', 'up']);
    await lab.ipIn(lab.underlayNs, ['link', 'set', port, 'master', 'ul0']);
    await lab.ipIn(lab.underlayNs, ['link', 'set', port, 'up']);
    await h.api.start();
  }

  /** A fresh container namespace on host i (the runtime's sandbox). */
  async newContainerNs(i: number): Promise<{ id: string; ns: string }> {
    const n = ++this.containerSeq;
    const ns = await this.lab.addNamespace(`c${i}x${n}`);
    return { id: `chaos${this.lab.id}c${n}`, ns };
  }

  async deleteContainerNs(ns: string): Promise<void> {
    await sh('ip', ['netns', 'delete', ns]);
  }

  /** CNI ADD on host i, as a runtime runs it. */
  async cniAdd(i: number, id: string, ns: string): Promise<AddOutcome> {
    const h = this.host(i);
    try {
      const { result } = await h.runtime.add(CONFLIST, {
        containerId: id,
        netns: `/var/run/netns/${ns}`,
        ifname: 'eth0',
      });
      const address = (result.ips as Array<{ address: string }> | undefined)?.[0]?.address;
      if (!address) return { ok: false, error: 'ADD returned no address' };
      return { ok: true, ip: address.split('/')[0]!, result };
    } catch (e) {
      return { ok: false, error: e instanceof CniError ? e.message : String(e) };
    }
  }

  /** CNI DEL on host i (with the ADD's result when there was one). */
  async cniDel(
    i: number,
    id: string,
    ns: string,
    result?: Record<string, unknown>,
  ): Promise<{ ok: boolean; error?: string }> {
    const h = this.host(i);
    const netns = existsSync(`/var/run/netns/${ns}`) ? `/var/run/netns/${ns}` : '';
    try {
      await h.runtime.del(CONFLIST, { containerId: id, netns, ifname: 'eth0' }, result);
      return { ok: true };
    } catch (e) {
      return { ok: false, error: e instanceof CniError ? e.message : String(e) };
    }
  }

  async close(): Promise<void> {
    for (const h of this.hosts) await h.api.stop().catch(() => undefined);
    for (const h of this.hosts)
      if (h.router) await stopRouter(this.lab, h.router, 'SIGKILL').catch(() => undefined);
    this.plugins.cleanup();
    await this.lab.cleanup();
    removeDataRoot(this.root);
  }
}

export function isRunning(r: RouterProcess): boolean {
  return r.child.exitCode === null && r.child.signalCode === null;
}

/** SIGKILL whatever still runs in a namespace (plugins mid-call, pings): all started by us. */
async function killEverythingIn(ns: string): Promise<void> {
  const r = await sh('ip', ['netns', 'pids', ns]);
  const pids = r.stdout.split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const left = (await sh('ip', ['netns', 'pids', ns])).stdout.trim();
    if (!left) return;
    await sleep(50);
  }
}
