/**
 * Real `weft router` processes on the hosts of a netns Lab, for every suite
 * that needs a running mesh (mesh, IPAM, data plane, CLI, chaos).
 *
 * Each router runs `node bin/weft router` inside its host's namespace with its
 * own data dir (under the lab's temp dir, so a restart keeps the peer name),
 * binds its API to 127.0.0.1:6784 *inside* the namespace, and logs pino JSON
 * on stdout, which we keep. The API is queried by running a tiny Node fetch
 * inside the namespace (`ip netns exec`), so nothing listens outside the lab.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../router/api/report.js';
import type { Host, Lab } from './lab.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEFT_BIN = join(REPO_ROOT, 'bin', 'weft');
export const API_ADDR = '127.0.0.1:6784';

/** Fail early, and clearly, when the suite runs before `npm run build`. */
export function assertBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'dist', 'router', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the netns suites (npm test does)');
  }
}

export interface LogLine {
  level: string;
  msg?: string;
  [field: string]: unknown;
}

export interface RouterProcess {
  readonly host: Host;
  readonly dataDir: string;
  readonly args: string[];
  child: ChildProcess;
  /** Every JSON log line so far (non-JSON stdout lines as {level:'raw', msg}). */
  readonly logs: LogLine[];
  /** stderr text (the CLI's one-line errors). */
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  peers?: string[];
  password?: string;
  /** Extra flags for `weft router`. */
  args?: string[];
  /** Reuse a data dir (restart); default: a fresh one per host under `dataRoot`. */
  dataDir?: string;
  /** Wait until the API answers (default true). */
  waitReady?: boolean;
}

/** A temp root for the data dirs of one suite; removed by `removeDataRoot`. */
export function makeDataRoot(lab: Lab): string {
  return mkdtempSync(join(tmpdir(), `weft-${lab.id}-`));
}

export function removeDataRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

export function dataDirFor(root: string, host: Host): string {
  return join(root, `h${host.index}`);
}

export function startRouter(
  lab: Lab,
  host: Host,
  root: string,
  opts: StartOptions = {},
): Promise<RouterProcess> {
  assertBuilt();
  const dataDir = opts.dataDir ?? dataDirFor(root, host);
  const args = [
    WEFT_BIN,
    'router',
    '--nickname',
    `h${host.index}`,
    '--data-dir',
    dataDir,
    '--http-addr',
    API_ADDR,
    '--log-level',
    'debug',
    ...(opts.args ?? []),
    ...(opts.peers ?? []),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.WEFT_PASSWORD;
  if (opts.password !== undefined) env.WEFT_PASSWORD = opts.password;
  const child = lab.spawn(host.ns, process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const proc: RouterProcess = {
    host,
    dataDir,
    args,
    child,
    logs,
    stderr: '',
    exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))),
  };
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 'raw', msg: line });
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    proc.stderr += chunk;
  });
  if (opts.waitReady === false) return Promise.resolve(proc);
  return waitReady(lab, proc).then(() => proc);
}

/** Wait until the router's API answers, failing fast if the process exits. */
export async function waitReady(lab: Lab, r: RouterProcess, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void r.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`router on ${r.host.ns} exited during start-up: ${r.stderr.trim() || tailLogs(r)}`);
    }
    const res = await apiRequest(lab, r.host, 'GET', '/report').catch(() => undefined);
    if (res?.status === 200) return;
    await sleep(200);
  }
  throw new Error(`router on ${r.host.ns} did not answer within ${timeoutMs} ms: ${tailLogs(r)}`);
}

export function tailLogs(r: RouterProcess, n = 10): string {
  return r.logs
    .slice(-n)
    .map((l) => JSON.stringify(l))
    .join('\n');
}

/** SIGTERM (graceful) or SIGKILL, and wait for the exit. */
export async function stopRouter(lab: Lab, r: RouterProcess, signal: NodeJS.Signals = 'SIGTERM') {
  await lab.kill(r.child, signal);
  return r.exited;
}

export interface ApiResponse {
  status: number;
  contentType: string;
  body: string;
}

// Runs inside the namespace: one request, result as one JSON line on stdout.
const FETCH_SCRIPT = `
const [method, url, body] = process.argv.slice(1);
fetch(url, { method, signal: AbortSignal.timeout(5000),
  ...(body ? { headers: { 'content-type': 'application/json' }, body } : {}) })
  .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, contentType: r.headers.get('content-type') ?? '', body: await r.text() })))
  .catch((e) => { process.stderr.write(String(e.cause ?? e)); process.exit(2); });
`;

/** One HTTP request made from inside a host's namespace (its loopback is not ours). */
export async function httpRequest(
  lab: Lab,
  host: Host,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
): Promise<ApiResponse> {
  const args = ['-e', FETCH_SCRIPT, method, url];
  if (body !== undefined) args.push(JSON.stringify(body));
  const r = await lab.exec(host.ns, process.execPath, args, { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`${method} ${url} in ${host.ns} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as ApiResponse;
}

/** A request to the router's API in that host's namespace. */
export function apiRequest(
  lab: Lab,
  host: Host,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<ApiResponse> {
  return httpRequest(lab, host, method, `http://${API_ADDR}${path}`, body);
}

export async function getReport(lab: Lab, host: Host): Promise<Report> {
  const r = await apiRequest(lab, host, 'GET', '/report');
  if (r.status !== 200) throw new Error(`/report on ${host.ns}: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as Report;
}

/** Run the `weft` CLI inside a host's namespace. */
export function weftCli(lab: Lab, host: Host, args: string[], env: NodeJS.ProcessEnv = {}) {
  return lab.exec(
    host.ns,
    'env',
    [...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, WEFT_BIN, ...args],
    {
      timeoutMs: 30_000,
    },
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `probe` until it returns a defined value; the last error/value explains a timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** True when the report shows every name in `names` as a peer and an established, encrypted connection to each other one. */
export function meshComplete(
  report: Report,
  names: readonly string[],
  opts: { encrypted: boolean },
): boolean {
  const r = report.router;
  const peers = new Set(r.peers.map((p) => p.name));
  if (!names.every((n) => peers.has(n))) return false;
  for (const n of names) {
    if (n === r.name) continue;
    const c = r.connections.find((x) => x.name === n && x.state === 'established');
    if (!c || c.encrypted !== opts.encrypted) return false;
  }
  return true;
}

/**
 * Wait until every host's router sees a complete mesh (see meshComplete) and a
 * ready address ring; on a timeout the error carries the routers' log tails.
 * Returns the peer names, in host order.
 */
export async function waitMeshAndRing(
  lab: Lab,
  routers: readonly RouterProcess[],
  opts: { encrypted: boolean; timeoutMs?: number; logLines?: number },
): Promise<string[]> {
  const names = await Promise.all(lab.hosts.map(async (x) => (await getReport(lab, x)).router.name));
  await waitFor(
    'a complete mesh with a ready ring on every host',
    async () => {
      for (const x of lab.hosts) {
        const r = await getReport(lab, x);
        if (!meshComplete(r, names, { encrypted: opts.encrypted })) return undefined;
        if ((r as { ipam?: { state?: string } }).ipam?.state !== 'ready') return undefined;
      }
      return true;
    },
    opts.timeoutMs ?? 60_000,
  ).catch((e: Error) => {
    const tails = routers.map((r) => `h${r.host.index}: ${tailLogs(r, opts.logLines ?? 12)}`);
    throw new Error(`${e.message}\n${tails.join('\n')}`);
  });
  return names;
}
