/** Hardening (issue 7): the API and metrics on loopback unless configured, and a warning when not. */
import { describe, expect, it } from 'vitest';
import { ROUTER_DEFAULTS } from '../../router/daemon/config.js';
import { exposureWarnings, isLoopbackHost } from '../../router/daemon/exposure.js';

describe('listeners beyond loopback', () => {
  it('the defaults are loopback and produce no warning', () => {
    const [api, metrics] = [ROUTER_DEFAULTS.httpAddr, ROUTER_DEFAULTS.metricsAddr].map((a) => {
      const [host, port] = a.split(':');
      return { host: host!, port: Number(port) };
    });
    expect(api!.host).toBe('127.0.0.1');
    expect(metrics!.host).toBe('127.0.0.1');
    expect(
      exposureWarnings([
        { what: 'api', ...api! },
        { what: 'metrics', ...metrics! },
      ]),
    ).toEqual([]);
  });

  it('tells loopback from everything else', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '', '::', '198.18.0.1', '10.32.0.1', '127.0.0.1.example', 'localhost.evil'])
      expect(isLoopbackHost(h)).toBe(false);
  });

  it('warns once per listener reachable from other hosts, naming what it exposes', () => {
    const w = exposureWarnings([
      { what: 'api', host: '0.0.0.0', port: 6784 },
      { what: 'metrics', host: '', port: 6782 },
    ]);
    expect(w.map((x) => x.address)).toEqual(['0.0.0.0:6784', '*:6782']);
    expect(w[0]!.message).toMatch(/no authentication/);
    expect(w[1]!.message).toMatch(/metrics/);
  });
});
