/**
 * `weft demo` (what `npm run demo` runs): a small weft cluster on this one
 * machine. Three simulated hosts, each a network namespace on a shared
 * underlay bridge (the test lab's layout, 198.18.0.0/24), each running a weft
 * router with a shared password; we wait for the encrypted mesh to form, show
 * `weft status` and the peer list, and remove everything (processes,
 * namespaces, data dirs) on exit, on Ctrl-C and on error.
 *
 *        ┌────────────── <lab>-ul: bridge ul0 ──────────────┐
 *        │                                                  │
 *   <lab>-h1 198.18.0.1   <lab>-h2 198.18.0.2   <lab>-h3 198.18.0.3
 *     weft router  ◄──── encrypted TCP mesh (port 6783) ────►  …
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Report } from '../api/report.js';
import { Lab } from '../demo/lab.js';
import { weftBin } from './version.js';

export interface DemoOptions {
  hosts: number;
  /** Keep the cluster running until Ctrl-C instead of tearing down at once. */
  keep: boolean;
  timeoutMs: number;
  out: (line: string) => void;
}

interface DemoRouter {
  ns: string;
  ip: string;
  child: ChildProcess;
  log: string[];
}

const API = '127.0.0.1:6784';

/** Run the weft CLI inside a host's namespace (the demo shows the real commands). */
async function cliIn(lab: Lab, ns: string, args: string[]): Promise<string> {
  const r = await lab.exec(ns, process.execPath, [weftBin(), ...args, '--http-addr', API], {
    timeoutMs: 15_000,
  });
  if (r.code !== 0) throw new Error(r.stderr.trim() || `weft ${args.join(' ')} failed`);
  return r.stdout;
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

class Interrupted extends Error {}

function checkRunning(r: DemoRouter): void {
  if (r.child.exitCode !== null || r.child.signalCode !== null) {
    const tail = r.log.join('').trim().split('\n').slice(-3).join(' | ');
    throw new Error(`the router in ${r.ns} exited: ${tail}`);
  }
}

/** Wait until a router's API answers (so the next router finds it listening). */
async function untilAnswering(
  lab: Lab,
  r: DemoRouter,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkRunning(r);
    if (
      await cliIn(lab, r.ns, ['status', 'targets']).then(
        () => true,
        () => false,
      )
    ) {
      return;
    }
    if (Date.now() > deadline)
      throw new Error(`the router in ${r.ns} did not start within ${timeoutMs / 1000} s`);
    await pause(200, signal);
  }
}

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

export async function runDemo(opts: DemoOptions): Promise<void> {
  const out = opts.out;
  if (process.getuid?.() !== 0) throw new Error('the demo needs root: it builds network namespaces');
  const abort = new AbortController();
  let cleaningUp = false;
  // Ctrl-C or SIGTERM: stop at the next step and clean up; never leave the lab behind.
  const onSignal = (sig: NodeJS.Signals) => {
    if (cleaningUp) out(`demo: ${sig} received, still cleaning up`);
    else abort.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let lab: Lab | undefined;
  let dataRoot: string | undefined;
  try {
    lab = await Lab.create(opts.hosts);
    await demoSteps(lab, opts, abort.signal, (root) => {
      dataRoot = root;
    });
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    out(`demo: ${e.message}, stopping`);
  } finally {
    cleaningUp = true;
    out('demo: removing routers, namespaces and data dirs');
    await lab?.cleanup();
    if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
    out(`demo: cleaned up${lab ? ` (lab ${lab.id})` : ''}`);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

async function demoSteps(lab: Lab, opts: DemoOptions, signal: AbortSignal, setDataRoot: (d: string) => void) {
  const out = opts.out;
  out(
    `demo: created ${lab.hosts.length} simulated hosts (lab ${lab.id}): ${lab.hosts.map((h) => `${h.ns}=${h.ip}`).join(' ')}`,
  );
  checkpoint(signal);
  const dataRoot = mkdtempSync(join(tmpdir(), `weft-demo-${lab.id}-`));
  setDataRoot(dataRoot);
  const password = randomBytes(12).toString('base64url');
  const routers: DemoRouter[] = [];
  // Like `weave launch` on real hosts: each new router is told about the ones
  // already running, and discovery fills in the rest of the mesh.
  for (const h of lab.hosts) {
    const peers = routers.map((r) => r.ip);
    const args = [
      weftBin(),
      'router',
      '--nickname',
      `host${h.index}`,
      '--data-dir',
      join(dataRoot, `host${h.index}`),
    ];
    args.push('--http-addr', API, ...peers);
    const child = lab.spawn(h.ns, process.execPath, args, {
      env: { ...process.env, WEFT_PASSWORD: password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r: DemoRouter = { ns: h.ns, ip: h.ip, child, log: [] };
    child.stdout?.setEncoding('utf8').on('data', (s: string) => r.log.push(s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => r.log.push(s));
    routers.push(r);
    out(
      `demo: host${h.index}: weft router ${peers.join(' ')}`.trimEnd() +
        `   (pid ${child.pid}, mesh ${h.ip}:6783)`,
    );
    await untilAnswering(lab, r, opts.timeoutMs, signal);
  }
  out('demo: waiting for the routers to form an encrypted mesh');
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    for (const r of routers) checkRunning(r);
    const reports = await Promise.all(
      routers.map(async (r) => JSON.parse(await cliIn(lab, r.ns, ['report'])) as Report),
    ).catch(() => []);
    if (reports.length === routers.length && meshFormed(reports)) break;
    if (Date.now() > deadline) throw new Error(`the mesh did not form within ${opts.timeoutMs / 1000} s`);
    await pause(500, signal);
  }
  const first = routers[0]!.ns;
  out('demo: mesh formed. `weft status` on host1:\n');
  out(await cliIn(lab, first, ['status']));
  out('demo: `weft status peers` on host1:\n');
  out(await cliIn(lab, first, ['status', 'peers']));
  out('demo: `weft status connections` on host1:\n');
  out(await cliIn(lab, first, ['status', 'connections']));
  if (opts.keep) {
    out(`demo: running. Try:  ip netns exec ${first} ${weftBin()} status peers`);
    out('demo: press Ctrl-C to stop and clean up');
    await pause(2 ** 31 - 1, signal);
  }
}
