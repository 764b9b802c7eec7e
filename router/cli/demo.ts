/**
 * `weft demo` (what `npm run demo` runs): a small weft cluster on this one
 * machine, built with the commands a user types on real hosts.
 *
 *        ┌──────────────── <lab>-ul: bridge ul0 (underlay) ───────────────┐
 *   <lab>-h1 198.18.0.1       <lab>-h2 198.18.0.2       <lab>-h3 198.18.0.3
 *   weft router ◄──── encrypted mesh (TCP 6783) + sleeve (UDP 6783) ────►  …
 *   bridge weft                bridge weft               bridge weft
 *    ├─ c1 eth0 10.32…          ├─ c1 eth0 10.40…         ├─ c1 …
 *    └─ c2 eth0 10.32…          └─ c2 eth0 10.40…         └─ c2 …
 *
 *   1. simulated hosts: network namespaces on a shared underlay bridge (lab.ts);
 *   2. `weft setup-cni` into a scratch CNI bin/conf dir;
 *   3. `weft launch host1 host2 host3` on each host, with a shared
 *      WEFT_PASSWORD — the same command everywhere, as on real hosts (each
 *      leaves out its own address; the ring is agreed by consensus of all);
 *   4. wait for the encrypted mesh and `weft prime` (the ring is ready);
 *   5. two "containers" per host (namespaces), attached by exec'ing the
 *      installed weft-net plugin with CNI_COMMAND=ADD, as a runtime would;
 *   6. `weft status` and `weft ps`, then pings from each container to one on
 *      the next host, with their results;
 *   7. where to look next; with --keep, wait for Ctrl-C;
 *   8. remove everything (routers, namespaces, data dirs, scratch CNI dirs) —
 *      also on Ctrl-C and on error.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFLIST_NAME } from '../../cni-plugin/setup.js';
import { weftBin } from '../../common/version.js';
import type { Report } from '../api/report.js';
import { PID_FILE } from '../daemon/data-dir.js';
import { execCniPlugin, readConflist } from '../demo/cni-exec.js';
import { type Host, Lab } from '../demo/lab.js';
import { launchProgress } from './launch-progress.js';

export interface DemoOptions {
  hosts: number;
  /** Keep the cluster running until Ctrl-C instead of tearing down at once. */
  keep: boolean;
  timeoutMs: number;
  out: (line: string) => void;
}

const API = '127.0.0.1:6784';
const CONTAINERS_PER_HOST = 2;

interface DemoContainer {
  host: Host;
  name: string;
  ns: string;
  address: string;
}

class Interrupted extends Error {}

/** Sleep that ends early (throwing Interrupted) when the demo is interrupted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Interrupted(String(signal.reason)));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Interrupted(String(signal.reason)));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function checkpoint(signal: AbortSignal): void {
  if (signal.aborted) throw new Interrupted(String(signal.reason));
}

function meshFormed(reports: Report[]): boolean {
  const names = reports.map((r) => r.router.name);
  return reports.every((r) =>
    names.every(
      (n) =>
        n === r.router.name ||
        r.router.connections.some((c) => c.name === n && c.state === 'established' && c.encrypted),
    ),
  );
}

/** "3 packets transmitted, 3 received … rtt min/avg/max/mdev = 0.1/0.4/…" → the parts we print. */
export function summarizePing(output: string): { sent: number; received: number; avgMs?: number } {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(output);
  return {
    sent: counts ? Number(counts[1]) : 0,
    received: counts ? Number(counts[2]) : 0,
    ...(rtt ? { avgMs: Number(rtt[1]) } : {}),
  };
}

class DemoCluster {
  readonly dataRoot: string;
  readonly cniBin: string;
  readonly cniConf: string;

  constructor(
    readonly lab: Lab,
    readonly opts: DemoOptions,
    readonly signal: AbortSignal,
  ) {
    this.dataRoot = mkdtempSync(join(tmpdir(), `weft-demo-${lab.id}-`));
    this.cniBin = join(this.dataRoot, 'cni', 'bin');
    this.cniConf = join(this.dataRoot, 'cni', 'net.d');
  }

  dataDir(h: Host): string {
    return join(this.dataRoot, `host${h.index}`);
  }

  /** Run the weft CLI inside a host's namespace: the demo shows the real commands. */
  async weft(h: Host, args: string[], timeoutMs = 30_000): Promise<string> {
    const r = await this.lab.exec(h.ns, process.execPath, [weftBin(), ...args], { timeoutMs });
    if (r.code !== 0) throw new Error(r.stderr.trim() || `weft ${args.join(' ')} failed (${r.code})`);
    return r.stdout;
  }

  async launch(): Promise<void> {
    const out = this.opts.out;
    const hosts = this.lab.hosts;
    for (const h of hosts) {
      checkpoint(this.signal);
      const peers = hosts.map((x) => x.ip);
      const flags = ['--nickname', `host${h.index}`];
      await this.weft(h, [
        'launch',
        ...flags,
        '--data-dir',
        this.dataDir(h),
        '--http-addr',
        API,
        '--wait',
        '0',
        ...peers,
      ]);
      const pid = readFileSync(join(this.dataDir(h), PID_FILE), 'utf8').trim();
      out(
        `demo: host${h.index}: weft launch ${[...flags, ...peers].join(' ')}   (router pid ${pid}, mesh ${h.ip}:6783)`,
      );
    }
    out('demo: waiting for the routers to form an encrypted mesh and agree on the address ring');
    const deadline = Date.now() + this.opts.timeoutMs;
    for (;;) {
      const reports = await Promise.all(
        hosts.map(async (h) => JSON.parse(await this.weft(h, ['report'])) as Report),
      ).catch(() => []);
      // Also every target connected: a dial that failed before its peer was up shows as
      // "failed" until its retry finds the connection made from the other side.
      if (
        reports.length === hosts.length &&
        meshFormed(reports) &&
        reports.every((r) => launchProgress(r).done)
      )
        break;
      if (Date.now() > deadline)
        throw new Error(`the mesh did not form within ${this.opts.timeoutMs / 1000} s`);
      await pause(500, this.signal);
    }
    const primeSeconds = String(Math.max(1, Math.ceil((deadline - Date.now()) / 1000)));
    for (const h of hosts)
      await this.weft(h, ['prime', '--timeout', primeSeconds], this.opts.timeoutMs + 15_000);
    out('demo: mesh formed, address ring ready');
  }

  async attachContainers(): Promise<DemoContainer[]> {
    const out = this.opts.out;
    const conflist = readConflist(join(this.cniConf, CONFLIST_NAME));
    out(
      `demo: attaching ${CONTAINERS_PER_HOST} containers per host: ${conflist.plugins[0]!.type} ADD, as a runtime runs it`,
    );
    const containers: DemoContainer[] = [];
    for (const h of this.lab.hosts) {
      for (let j = 1; j <= CONTAINERS_PER_HOST; j++) {
        checkpoint(this.signal);
        const name = `c${j}`;
        const ns = await this.lab.addNamespace(`h${h.index}${name}`);
        const result = await execCniPlugin(h.ns, this.cniBin, conflist, {
          command: 'ADD',
          containerId: `demo-host${h.index}-${name}`,
          netns: `/var/run/netns/${ns}`,
          ifname: 'eth0',
        });
        const address = (result.ips as Array<{ address: string }> | undefined)?.[0]?.address;
        if (!address) throw new Error(`weft-net ADD in host${h.index} returned no address`);
        containers.push({ host: h, name, ns, address });
        out(`demo:   host${h.index}/${name}  (netns ${ns})  eth0 ${address}`);
      }
    }
    return containers;
  }

  /** Each container pings the container with the same number on the next host. */
  async ping(containers: DemoContainer[]): Promise<number> {
    const out = this.opts.out;
    out('demo: pinging across hosts, container to container (3 pings each):');
    let failed = 0;
    for (const from of containers) {
      checkpoint(this.signal);
      const next = (from.host.index % this.lab.hosts.length) + 1;
      const to = containers.find((c) => c.host.index === next && c.name === from.name)!;
      const ip = to.address.split('/')[0]!;
      const r = await this.lab.exec(from.ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '3', ip], {
        timeoutMs: 20_000,
      });
      const s = summarizePing(r.stdout);
      if (s.received === 0) failed++;
      out(
        `demo:   host${from.host.index}/${from.name} ${from.address.split('/')[0]} → host${next}/${to.name} ${ip}: ` +
          `${s.received}/${s.sent} replies${s.avgMs !== undefined ? `, avg ${s.avgMs.toFixed(2)} ms` : ''}`,
      );
    }
    return failed;
  }

  async stopRouters(): Promise<void> {
    await Promise.all(
      this.lab.hosts.map((h) =>
        this.lab.exec(h.ns, process.execPath, [weftBin(), 'stop', '--data-dir', this.dataDir(h)], {
          timeoutMs: 15_000,
        }),
      ),
    );
  }
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo needs root: it builds network namespaces');
  const abort = new AbortController();
  let cleaningUp = false;
  // Output closed under us (`weft demo | head`): stop writing, stop the demo, clean up.
  let outputClosed = false;
  const out = (line: string) => {
    if (!outputClosed) opts.out(line);
  };
  const onOutputError = () => {
    outputClosed = true;
    if (!cleaningUp) abort.abort('output closed');
  };
  process.stdout.on('error', onOutputError);
  // Ctrl-C or SIGTERM: stop at the next step and clean up; never leave the lab behind.
  const onSignal = (sig: NodeJS.Signals) => {
    if (cleaningUp) out(`demo: ${sig} received, still cleaning up`);
    else abort.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let lab: Lab | undefined;
  let cluster: DemoCluster | undefined;
  let removeDataOnExit: (() => void) | undefined;
  // The routers (started by `weft launch` in the host namespaces) inherit it.
  const savedPassword = process.env.WEFT_PASSWORD;
  process.env.WEFT_PASSWORD = randomBytes(12).toString('base64url');
  try {
    lab = await Lab.create(opts.hosts);
    out(
      `demo: created ${lab.hosts.length} simulated hosts (lab ${lab.id}): ${lab.hosts.map((h) => `${h.ns}=${h.ip}`).join(' ')}`,
    );
    cluster = new DemoCluster(lab, { ...opts, out }, abort.signal);
    // Last resort if the process dies anyway: the lab removes itself on exit, this its data.
    const dataRoot = cluster.dataRoot;
    removeDataOnExit = () => rmSync(dataRoot, { recursive: true, force: true });
    process.once('exit', removeDataOnExit);
    await demoSteps(cluster);
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    out(`demo: ${e.message}, stopping`);
  } finally {
    cleaningUp = true;
    if (savedPassword === undefined) delete process.env.WEFT_PASSWORD;
    else process.env.WEFT_PASSWORD = savedPassword;
    out('demo: removing routers, containers, namespaces and data dirs');
    await cluster?.stopRouters().catch(() => undefined);
    await lab?.cleanup();
    if (cluster) rmSync(cluster.dataRoot, { recursive: true, force: true });
    if (removeDataOnExit) process.removeListener('exit', removeDataOnExit);
    out(`demo: cleaned up${lab ? ` (lab ${lab.id})` : ''}`);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.stdout.removeListener('error', onOutputError);
  }
}

async function demoSteps(c: DemoCluster): Promise<void> {
  const out = c.opts.out;
  const h1 = c.lab.host(1);
  const setup = await c.weft(h1, ['setup-cni', '--bin-dir', c.cniBin, '--conf-dir', c.cniConf]);
  out(
    `demo: weft setup-cni installed ${setup.trim().split('\n').length} files under ${join(c.dataRoot, 'cni')}`,
  );
  await c.launch();
  const containers = await c.attachContainers();
  out('demo: `weft status` on host1:\n');
  out(await c.weft(h1, ['status']));
  out('demo: `weft ps` on host1:\n');
  out(await c.weft(h1, ['ps']));
  const failed = await c.ping(containers);
  if (failed > 0)
    throw new Error(`${failed} of ${containers.length} containers got no ping reply across hosts`);
  out(`demo: all ${containers.length} containers reached a container on another host`);
  out('demo: where to look next:');
  out(
    'demo:   docs/user-guide.md — a real multi-host cluster, Docker/podman/Kubernetes, expose, troubleshooting',
  );
  out(`demo:   weft demo --keep  — keep this cluster up and look around, e.g.`);
  out(`demo:     ip netns exec ${h1.ns} ${weftBin()} status peers   (also: status ipam, ps, report)`);
  out(
    `demo:     ip netns exec ${containers[0]!.ns} ping ${containers[containers.length - 1]!.address.split('/')[0]}`,
  );
  if (c.opts.keep) {
    out('demo: running; press Ctrl-C to stop and clean up');
    await pause(2 ** 31 - 1, c.signal);
  }
}
