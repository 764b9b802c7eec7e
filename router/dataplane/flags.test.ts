import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from '../cli/router-config.js';

// The data plane's `weft router` flags: --no-fastdp and --mtu.
const parse = (flags: Record<string, unknown>) =>
  parseRouterConfig(flags, [], {}, { hostname: 'h', cwd: '/tmp' });

describe('weft router data-plane flags', () => {
  it('fastdp is on unless --no-fastdp', () => {
    expect(parse({}).fastdp).toBeUndefined();
    expect(parse({ fastdp: true }).fastdp).toBeUndefined();
    expect(parse({ fastdp: false }).fastdp).toBe(false);
  });

  it('--mtu takes bytes within 576..65000', () => {
    expect(parse({}).mtu).toBeUndefined();
    expect(parse({ mtu: '1376' }).mtu).toBe(1376);
    expect(() => parse({ mtu: '100' })).toThrow(/at least 576/);
    expect(() => parse({ mtu: '70000' })).toThrow(/at most 65000/);
    expect(() => parse({ mtu: '1.5k' })).toThrow(/not a number/);
  });
});
