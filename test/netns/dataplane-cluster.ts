/**
 * N hosts of a Lab, each running the data-plane harness (the real
 * WeftOverlay with a fake mesh, see dataplane-harness.ts) and one container
 * namespace on its bridge. Used by the data-plane kernel suites and the
 * throughput bench; everything is removed by `stop()` / the Lab's cleanup.
 */
import type { ChildProcess } from 'node:child_process';
import type { OverlayReport } from '../../router/dataplane/overlay.js';
import type { SleeveStats } from '../../router/dataplane/sleeve-native.js';
import { bundled } from './dataplane-bundle.js';
import type { HarnessConfig, HarnessPeer } from './dataplane-harness.js';
import { addContainer, type Container } from './dataplane-topology.js';
import type { Host, Lab } from './lab.js';

export interface ClusterOptions {
  hosts?: number;
  password?: string;
  fastdp: boolean;
  /** Underlay links the routes avoid (the test blocks them with Lab.block). */
  blocked?: [number, number][];
  mtu?: number;
  tuning?: Record<string, number>;
}

export interface HarnessNode {
  host: Host;
  name: string;
  proc: ChildProcess;
  events: Record<string, unknown>[];
  report?: OverlayReport;
  stats?: SleeveStats;
  logs: string[];
}

export const peerName = (i: number) => `0a:00:00:00:00:${i.toString(16).padStart(2, '0')}`;

export class DataplaneCluster {
  readonly nodes: HarnessNode[] = [];
  readonly containers: Container[] = [];
  private constructor(
    readonly lab: Lab,
    readonly opts: ClusterOptions,
  ) {}

  static async start(lab: Lab, opts: ClusterOptions): Promise<DataplaneCluster> {
    const c = new DataplaneCluster(lab, opts);
    const n = opts.hosts ?? lab.hosts.length;
    const script = await bundled('test/netns/dataplane-harness.ts');
    const peers: HarnessPeer[] = lab.hosts
      .slice(0, n)
      .map((h) => ({ index: h.index, name: peerName(h.index), ip: h.ip }));
    const blocked = new Set((opts.blocked ?? []).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
    const links: [number, number][] = [];
    for (let a = 1; a <= n; a++)
      for (let b = a + 1; b <= n; b++) if (!blocked.has(`${a}-${b}`)) links.push([a, b]);
    for (const h of lab.hosts.slice(0, n)) {
      const cfg: HarnessConfig = {
        index: h.index,
        peers,
        links,
        fastdp: opts.fastdp,
        resetOnExit: true,
        ...(opts.password ? { password: opts.password } : {}),
        ...(opts.mtu ? { mtu: opts.mtu } : {}),
        ...(opts.tuning ? { tuning: opts.tuning } : {}),
      };
      const proc = lab.spawn(h.ns, process.execPath, ['--enable-source-maps', script, JSON.stringify(cfg)]);
      const node: HarnessNode = { host: h, name: peerName(h.index), proc, events: [], logs: [] };
      let buf = '';
      proc.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          try {
            const j = JSON.parse(line) as Record<string, unknown>;
            if (j.report) {
              node.report = j.report as OverlayReport;
              node.stats = j.stats as SleeveStats;
            } else if (j.event) node.events.push(j);
            else node.logs.push(line);
          } catch {
            node.logs.push(line);
          }
        }
      });
      proc.stderr?.on('data', (d: Buffer) => node.logs.push(d.toString()));
      c.nodes.push(node);
    }
    await c.waitFor(
      () => c.nodes.every((x) => x.events.some((e) => e.event === 'ready')),
      20_000,
      'harness ready',
    );
    for (const node of c.nodes) {
      const ready = node.events.find((e) => e.event === 'ready') as { mtu: number };
      c.containers.push(await addContainer(lab, node.host, 'weft', ready.mtu));
    }
    return c;
  }

  node(i: number): HarnessNode {
    return this.nodes[i - 1]!;
  }

  container(i: number): Container {
    return this.containers[i - 1]!;
  }

  /** Node i's view of its connection to node j. */
  connection(i: number, j: number) {
    return this.node(i).report?.connections.find((c) => c.peer === peerName(j))?.info;
  }

  async waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      const fatal = this.nodes.flatMap((n) => n.events).find((e) => e.event === 'fatal');
      if (fatal) throw new Error(`harness died: ${String(fatal.error)}`);
      if (Date.now() > end) {
        const tail = this.nodes.map((n) => `${n.name}: ${n.logs.slice(-5).join(' | ')}`).join('\n');
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Every pair that has a link has an established connection with this path on both sides. */
  async waitPaths(path: 'fastdp' | 'sleeve', timeoutMs = 30_000, pairs?: [number, number][]): Promise<void> {
    const all = pairs ?? this.linkedPairs();
    await this.waitFor(
      () =>
        all.every(([a, b]) => this.connection(a, b)?.path === path && this.connection(b, a)?.path === path),
      timeoutMs,
      `${path} on ${all.map((p) => p.join('-')).join(', ')}`,
    );
  }

  linkedPairs(): [number, number][] {
    const n = this.nodes.length;
    const blocked = new Set((this.opts.blocked ?? []).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
    const out: [number, number][] = [];
    for (let a = 1; a <= n; a++)
      for (let b = a + 1; b <= n; b++) if (!blocked.has(`${a}-${b}`)) out.push([a, b]);
    return out;
  }

  /** Wait for a fresh report (stats) from every node. */
  async freshReports(): Promise<void> {
    for (const n of this.nodes) n.stats = undefined;
    await this.waitFor(() => this.nodes.every((n) => n.stats !== undefined), 5000, 'fresh reports');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.lab.kill(n.proc, 'SIGTERM')));
  }
}
