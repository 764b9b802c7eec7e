/**
 * The two ways the plugins reach the router's API — node:net (`httpRequest`)
 * and the weft_sys addon (`nativeHttpRequest`, what the plugin executables
 * use) — against the same small HTTP server in a child process (the native
 * client blocks its thread while it waits, so the server cannot share it).
 * Both must behave alike: answers parsed, the request held back until
 * `after`, and every failure a ROUTER_UNAVAILABLE (CNI code 11) within the
 * deadline: refused, silent, oversized or malformed.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpRequestFn, httpRequest, MAX_RESPONSE_BYTES } from '../../cni-plugin/ipam/http.js';
import { nativeHttpRequest } from '../../cni-plugin/ipam/http-native.js';
import { isWeftError } from '../../common/errors.js';

/** Answers by path: /hang never, /big past the size limit, /bad garbage, /log what it was asked so far. */
const SERVER = `
const net = require('node:net');
const log = [];
const reply = (s, body) =>
  s.end('HTTP/1.1 200 OK\\r\\nContent-Length: ' + Buffer.byteLength(body) + '\\r\\nConnection: close\\r\\n\\r\\n' + body);
const server = net.createServer((s) => {
  let buf = '';
  s.on('error', () => {});
  s.on('data', (d) => {
    buf += d;
    const end = buf.indexOf('\\r\\n\\r\\n');
    if (end < 0) return;
    const [method, path] = buf.split('\\r\\n')[0].split(' ');
    const host = /\\r\\nHost: ([^\\r]*)/.exec(buf)[1];
    if (path !== '/log') log.push(method + ' ' + path);
    if (path === '/hang') return;
    if (path === '/log') return reply(s, JSON.stringify(log));
    if (path === '/big') return s.end('HTTP/1.1 200 OK\\r\\n\\r\\n' + 'x'.repeat(${MAX_RESPONSE_BYTES + 1024}));
    if (path === '/bad') return s.end('garbage\\r\\n\\r\\n');
    reply(s, JSON.stringify({ method, path, host, body: buf.slice(end + 4) }));
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

let child: ChildProcessWithoutNullStreams;
let port = 0;

beforeAll(async () => {
  child = spawn(process.execPath, ['-e', SERVER], { stdio: 'pipe' });
  port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
});

afterAll(async () => {
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  await exited;
});

/** A port that refuses connections: bound, then closed. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

const failureOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe.each([
  ['node:net', httpRequest],
  ['weft_sys', nativeHttpRequest],
] as Array<[string, HttpRequestFn]>)('router HTTP over %s', (_name, request) => {
  const ep = () => ({ host: '127.0.0.1', port });
  const log = async () =>
    JSON.parse((await request(ep(), 'GET', '/log', { timeoutMs: 2000 })).body) as string[];

  it('sends method, path, host and body; parses the answer', async () => {
    const r = await request(ep(), 'POST', '/ip/cni%3Aa', { timeoutMs: 2000, body: '{"x":1}' });
    expect(r.status).toBe(200);
    expect(r.headers.get('connection')).toBe('close');
    expect(JSON.parse(r.body)).toStrictEqual({
      method: 'POST',
      path: '/ip/cni%3Aa',
      host: `127.0.0.1:${port}`,
      body: '{"x":1}',
    });
  });

  it('localhost is the IPv4 loopback, where the router listens', async () => {
    const r = await request({ host: 'localhost', port }, 'GET', '/ping', { timeoutMs: 2000 });
    expect(JSON.parse(r.body).path).toBe('/ping');
  });

  it('a refused connection is ROUTER_UNAVAILABLE at once', async () => {
    const t0 = Date.now();
    const e = await failureOf(
      request({ host: '127.0.0.1', port: await deadPort() }, 'GET', '/', { timeoutMs: 5000 }),
    );
    expect(isWeftError(e) && e.code).toBe('ROUTER_UNAVAILABLE');
    expect((e as Error).message).toMatch(/ECONNREFUSED/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a server that never answers is ROUTER_UNAVAILABLE at the deadline, not before', async () => {
    const t0 = Date.now();
    const e = await failureOf(request(ep(), 'POST', '/hang', { timeoutMs: 300 }));
    const took = Date.now() - t0;
    expect(isWeftError(e) && e.code).toBe('ROUTER_UNAVAILABLE');
    expect((e as Error).message).toMatch(/no answer to POST \/hang within 300 ms/);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
  });

  it('refuses an answer past the size limit', async () => {
    const e = await failureOf(request(ep(), 'GET', '/big', { timeoutMs: 5000 }));
    expect(isWeftError(e) && e.code).toBe('ROUTER_UNAVAILABLE');
    expect((e as Error).message).toMatch(/too large/);
  });

  it('a malformed answer is an error, not a crash', async () => {
    const e = await failureOf(request(ep(), 'GET', '/bad', { timeoutMs: 2000 }));
    expect(isWeftError(e) && e.code).toBe('ROUTER_UNAVAILABLE');
    expect((e as Error).message).toMatch(/malformed HTTP response to GET \/bad/);
  });

  it('with `after`, sends nothing until it resolves', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const path = `/after-${_name}`;
    const releasing = request(ep(), 'DELETE', path, { timeoutMs: 2000, after: gate });
    await new Promise((r) => setTimeout(r, 50));
    expect(await log()).not.toContain(`DELETE ${path}`);
    open();
    expect((await releasing).status).toBe(200);
    expect(await log()).toContain(`DELETE ${path}`);
  });

  it('when `after` rejects, sends nothing and fails with its error', async () => {
    const path = `/never-${_name}`;
    const e = await failureOf(
      request(ep(), 'DELETE', path, { timeoutMs: 2000, after: Promise.reject(new Error('EBUSY')) }),
    );
    expect((e as Error).message).toBe('EBUSY');
    expect(await log()).not.toContain(`DELETE ${path}`);
  });
});
