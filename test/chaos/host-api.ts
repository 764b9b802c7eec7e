/**
 * Cheap access to a router's API, which listens on 127.0.0.1 *inside* its
 * host's namespace. test/netns/routers.ts starts one Node process per request
 * (~100 ms of CPU each); the chaos suite asks five routers for /ip, /ring and
 * /report every few seconds, so instead each host gets one tiny forwarder
 * running in its namespace that accepts on a Unix socket (a file: reachable
 * from every network namespace) and connects to 127.0.0.1:6784 there. The
 * test process then speaks plain HTTP over that socket.
 *
 *   test process ──http over /tmp/…/h3.sock──► forwarder (in h3's netns) ──tcp──► 127.0.0.1:6784 (router)
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Host, Lab } from '../netns/lab.js';

const FORWARDER = `
const net = require('node:net');
const fs = require('node:fs');
const [path, port] = process.argv.slice(1);
try { fs.unlinkSync(path); } catch {}
net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1');
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
  c.on('close', () => u.destroy()); u.on('close', () => c.destroy());
}).listen(path, () => process.stdout.write('ready\\n'));
`;

export interface HttpAnswer {
  status: number;
  body: string;
}

export class HostApi {
  private child: ChildProcess | undefined;
  readonly socketPath: string;

  constructor(
    private readonly lab: Lab,
    readonly host: Host,
    dir: string,
    private readonly port = 6784,
  ) {
    this.socketPath = join(dir, `api-h${host.index}.sock`);
  }

  /** Start (or restart, after the namespace was re-created) the forwarder. */
  async start(): Promise<void> {
    await this.stop();
    const child = this.lab.spawn(this.host.ns, process.execPath, [
      '-e',
      FORWARDER,
      this.socketPath,
      String(this.port),
    ]);
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (out.includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`API forwarder in ${this.host.ns} exited (${code})`)));
    });
  }

  async stop(): Promise<void> {
    if (this.child) await this.lab.kill(this.child);
    this.child = undefined;
    rmSync(this.socketPath, { force: true });
  }

  /** One request; rejects on a transport error or timeout (the router is down or hung). */
  request(method: string, path: string, timeoutMs = 8_000): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socketPath, method, path, agent: false, timeout: timeoutMs },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${path} on h${this.host.index}: no answer in ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** GET returning parsed JSON of a 200 answer; rejects otherwise. */
  async json<T>(path: string, timeoutMs?: number): Promise<T> {
    const r = await this.request('GET', path, timeoutMs);
    if (r.status !== 200)
      throw new Error(`GET ${path} on h${this.host.index}: ${r.status} ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body) as T;
  }
}
