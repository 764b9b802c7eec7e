/**
 * Prometheus metrics scraped from running `weft router` processes, in lab
 * namespaces:
 *
 *   h1 ── h2, h1 ── h3 (h2 and h3 dial h1; encrypted mesh)
 *
 * Each router serves /metrics on its default address, 127.0.0.1:6782, inside
 * its own namespace.
 * The scrape parses as strict Prometheus text, counts the established
 * connections and peers, and follows a connection that drops (h3 killed):
 * established goes down, terminations go up. From another host the metrics
 * port is not reachable (loopback by default).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MetricFamily, parseExposition } from '../../router/metrics/exposition.js';
import type { Host } from './lab.js';
import { Lab } from './lab.js';
import {
  getReport,
  httpRequest,
  makeDataRoot,
  meshComplete,
  type RouterProcess,
  removeDataRoot,
  startRouter,
  stopRouter,
  waitFor,
} from './routers.js';

const PASSWORD = 'metrics-test-password';
/** The router's default --metrics-addr. */
const METRICS_ADDR = '127.0.0.1:6782';

describe('metrics of running routers', () => {
  let lab: Lab;
  let root: string;
  const routers: RouterProcess[] = [];

  async function scrape(host: Host): Promise<Map<string, MetricFamily>> {
    const r = await httpRequest(lab, host, 'GET', `http://${METRICS_ADDR}/metrics`);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const parsed = parseExposition(r.body);
    if (!parsed.ok) throw new Error(`line ${parsed.error.line}: ${parsed.error.reason}`);
    return parsed.value;
  }

  const sum = (fams: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}) =>
    (fams.get(name)?.samples ?? [])
      .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((n, s) => n + s.value, 0);

  beforeAll(async () => {
    lab = await Lab.create(3);
    root = makeDataRoot(lab);
    const h1 = `${lab.host(1).ip}:6783`;
    // No --metrics-addr: the default (127.0.0.1:6782) is what is tested.
    routers.push(await startRouter(lab, lab.host(1), root, { password: PASSWORD }));
    routers.push(await startRouter(lab, lab.host(2), root, { password: PASSWORD, peers: [h1] }));
    routers.push(await startRouter(lab, lab.host(3), root, { password: PASSWORD, peers: [h1] }));
    const names = await Promise.all(routers.map(async (r) => (await getReport(lab, r.host)).router.name));
    await waitFor('a complete mesh on h1', async () =>
      meshComplete(await getReport(lab, lab.host(1)), names, { encrypted: true }) ? true : undefined,
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
    if (root) removeDataRoot(root);
  });

  it('serves strict Prometheus text with the mesh, build and process metrics', async () => {
    const fams = await scrape(lab.host(1));
    expect(fams.get('weft_connections')?.type).toBe('gauge');
    expect(sum(fams, 'weft_connections', { state: 'established' })).toBe(2);
    expect(sum(fams, 'weft_connections', { state: 'established', encryption: 'enabled' })).toBe(2);
    expect(sum(fams, 'weft_peers')).toBe(3);
    expect(fams.get('weft_connection_terminations_total')?.type).toBe('counter');
    expect(fams.get('weft_build_info')?.samples).toHaveLength(1);
    expect(sum(fams, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(fams.get('nodejs_eventloop_lag_seconds')).toBeDefined();
  });

  it('follows a connection that drops: fewer established, one more termination', async () => {
    const before = await scrape(lab.host(1));
    const terminations = sum(before, 'weft_connection_terminations_total');
    await stopRouter(lab, routers[2]!, 'SIGKILL');
    const after = await waitFor('h1 to notice that h3 is gone', async () => {
      const fams = await scrape(lab.host(1));
      return sum(fams, 'weft_connections', { state: 'established' }) === 1 ? fams : undefined;
    });
    expect(sum(after, 'weft_connection_terminations_total')).toBe(terminations + 1);
    // The series of the dropped connection's kind is still there, counting one less.
    expect(after.get('weft_connections')!.samples.length).toBeGreaterThanOrEqual(
      before.get('weft_connections')!.samples.length,
    );
  });

  it('is not reachable from another host: bound to loopback by default', async () => {
    await expect(
      httpRequest(lab, lab.host(2), 'GET', `http://${lab.host(1).ip}:6782/metrics`),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
