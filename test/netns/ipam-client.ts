/**
 * Many IPAM API requests from inside a host's namespace in one Node process
 * (spawning one per request would cost ~100 ms each): a small script runs
 * them with a given concurrency against the router's API on that host's
 * loopback and prints one JSON line per answer as soon as it arrives, so a
 * caller that kills the router mid-way still knows exactly what was
 * acknowledged.
 */
import type { Host, Lab } from './lab.js';
import { API_ADDR } from './routers.js';

export interface IpamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
}

export interface IpamAnswer {
  i: number;
  status: number;
  body: unknown;
}

const SCRIPT = `
const [base, reqsJson, conc] = process.argv.slice(1);
const reqs = JSON.parse(reqsJson);
let next = 0;
async function worker() {
  while (next < reqs.length) {
    const i = next++;
    const { method, path } = reqs[i];
    try {
      const r = await fetch(base + path, { method, signal: AbortSignal.timeout(60000) });
      const text = await r.text();
      let body; try { body = JSON.parse(text); } catch { body = text; }
      process.stdout.write(JSON.stringify({ i, status: r.status, body }) + '\\n');
    } catch (e) {
      process.stdout.write(JSON.stringify({ i, status: 0, body: String(e.cause ?? e) }) + '\\n');
    }
  }
}
Promise.all(Array.from({ length: Number(conc) }, worker)).then(() => process.exit(0));
`;

function scriptArgs(reqs: IpamRequest[], concurrency: number): string[] {
  return ['-e', SCRIPT, `http://${API_ADDR}`, JSON.stringify(reqs), String(concurrency)];
}

function parseLines(text: string): IpamAnswer[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as IpamAnswer);
}

/** Run all requests and return the answers (in request order). */
export async function ipamRequests(
  lab: Lab,
  host: Host,
  reqs: IpamRequest[],
  concurrency = 16,
): Promise<IpamAnswer[]> {
  const r = await lab.exec(host.ns, process.execPath, scriptArgs(reqs, concurrency), { timeoutMs: 170_000 });
  if (r.code !== 0) throw new Error(`ipam requests in ${host.ns} failed: ${r.stderr.trim()}`);
  return parseLines(r.stdout).sort((a, b) => a.i - b.i);
}

/**
 * Start the requests and return a handle: `answers` fills as they arrive;
 * `done` resolves when the client exits (on its own or because the router died).
 */
export function startIpamRequests(lab: Lab, host: Host, reqs: IpamRequest[], concurrency = 8) {
  const child = lab.spawn(host.ns, process.execPath, scriptArgs(reqs, concurrency));
  const answers: IpamAnswer[] = [];
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    answers.push(...parseLines(lines.join('\n')));
  });
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, answers, done };
}

export const allocate = (id: string): IpamRequest => ({ method: 'POST', path: `/ip/${id}` });
