import { Agent, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import { RecordingLogger } from '../../common/logger.js';
import { parseExposition } from './exposition.js';
import { startRouterMetrics } from './index.js';
import type { MetricsServer } from './server.js';
import type { ConnectionSample } from './sources.js';

// The real HTTP endpoint on loopback (port 0: the kernel picks a free one).

function get(address: string, path: string, method = 'GET', agent: Agent | false = false) {
  const [host, port] = address.split(':') as [string, string];
  return new Promise<{ status: number; type: string; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request({ host, port: Number(port), path, method, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body,
            headers: res.headers,
          }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('startRouterMetrics', () => {
  it('serves the registry at /metrics as Prometheus text that follows the sources', async () => {
    const conns: ConnectionSample[] = [{ state: 'established', type: 'sleeve', encrypted: true }];
    const m = await startRouterMetrics({
      addr: { host: '127.0.0.1', port: 0 },
      version: '1.2.3',
      sources: { mesh: { connections: () => conns, terminations: () => 0, peers: () => 2 } },
    });
    servers.push(m);
    expect(m.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const first = await get(m.address, '/metrics');
    expect(first.status).toBe(200);
    expect(first.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const a = parseExposition(first.body);
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    expect(a.value.get('weft_connections')!.samples[0]!.value).toBe(1);
    expect(a.value.get('process_cpu_user_seconds_total')).toBeDefined();

    conns.pop();
    const b = parseExposition((await get(m.address, '/metrics?x=1')).body);
    expect(b.ok && b.value.get('weft_connections')!.samples[0]!.value).toBe(0);
  });

  it('answers / with a pointer, unknown paths with 404, other methods with 405, HEAD without a body', async () => {
    const m = await startRouterMetrics({ addr: { host: '127.0.0.1', port: 0 }, version: 'x', sources: {} });
    servers.push(m);
    expect((await get(m.address, '/')).body).toContain('/metrics');
    expect((await get(m.address, '/nope')).status).toBe(404);
    const post = await get(m.address, '/metrics', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const head = await get(m.address, '/metrics', 'HEAD');
    expect([head.status, head.body]).toEqual([200, '']);
  });

  it('fails to start with a one-line BAD_REQUEST when the address is taken', async () => {
    const m = await startRouterMetrics({ addr: { host: '127.0.0.1', port: 0 }, version: 'x', sources: {} });
    servers.push(m);
    const port = Number(m.address.split(':')[1]);
    const e = await startRouterMetrics({
      addr: { host: '127.0.0.1', port },
      version: 'x',
      sources: {},
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WeftError);
    expect((e as WeftError).code).toBe('BAD_REQUEST');
    expect((e as WeftError).message).toMatch(
      /^cannot listen on --metrics-addr 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
  });

  it('closes promptly even with a keep-alive scraper connected, and close is idempotent', async () => {
    const logger = new RecordingLogger();
    const m = await startRouterMetrics({
      addr: { host: '127.0.0.1', port: 0 },
      version: 'x',
      sources: {},
      logger,
    });
    const keepAlive = new Agent({ keepAlive: true });
    await get(m.address, '/metrics', 'GET', keepAlive);
    await new Promise((r) => setImmediate(r));
    expect(Object.keys(keepAlive.freeSockets)).toHaveLength(1); // the scraper's idle connection
    const t0 = Date.now();
    await Promise.all([m.close(), m.close()]);
    expect(Date.now() - t0).toBeLessThan(2000);
    keepAlive.destroy();
    await expect(get(m.address, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
    expect(logger.records.some((r) => r.msg === 'metrics listening' && r.fields.address === m.address)).toBe(
      true,
    );
  });
});
