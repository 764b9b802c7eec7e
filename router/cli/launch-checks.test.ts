import { describe, expect, it } from 'vitest';
import { mustParseCidr } from '../../common/ip.js';
import { weftErrorOf } from '../daemon/test-support.js';
import type { Link, RouteInfo } from '../kernel/kernel-net.js';
import { conflictingRoute, mustNotOverlapRoutes, splitOwnPeers } from './launch-checks.js';

const link = (index: number, name: string): Link => ({
  index,
  name,
  mtu: 1500,
  mac: '02:00:00:00:00:01',
  up: true,
  operState: 'up',
});
const links = [link(1, 'lo'), link(2, 'eth0'), link(7, 'weft'), link(9, 'docker0')];
const route = (dst: string, devIndex?: number, gateway?: string): RouteInfo => ({
  dst,
  ...(devIndex !== undefined ? { devIndex } : {}),
  ...(gateway ? { gateway } : {}),
  scope: 'link',
  table: 254,
  type: 'unicast',
  protocol: 2,
});
const own = ['weft', 'weft-sleeve', 'weft-fastdp', 'weft-fdp-hb'];
const range = mustParseCidr('10.32.0.0/12');

describe('launch leaves out peers that are this host', () => {
  it('by any of its addresses, and loopback; names it cannot resolve stay', () => {
    const addresses = [
      { index: 1, cidr: '127.0.0.1/8' },
      { index: 2, cidr: '198.18.0.1/24' },
      { index: 3, cidr: '192.0.2.11/24' },
    ];
    expect(
      splitOwnPeers(
        ['198.18.0.1:6783', '198.18.0.2:6783', '192.0.2.11:7000', '127.0.0.1:6783', 'host3.example:6783'],
        addresses,
      ),
    ).toEqual({
      others: ['198.18.0.2:6783', 'host3.example:6783'],
      own: ['198.18.0.1:6783', '192.0.2.11:7000', '127.0.0.1:6783'],
    });
  });
});

describe('launch refuses a range that overlaps a host route', () => {
  it('finds a route inside the range, one containing it, and a host route', () => {
    expect(conflictingRoute(range, [route('10.40.0.0/16', 9)], links, own)?.dst).toBe('10.40.0.0/16');
    expect(conflictingRoute(range, [route('10.0.0.0/8', 2, '198.18.0.254')], links, own)?.dst).toBe(
      '10.0.0.0/8',
    );
    expect(conflictingRoute(range, [route('10.33.1.7', 2)], links, own)?.dst).toBe('10.33.1.7');
  });

  it('ignores the default route, routes beside the range and routes through our own bridge', () => {
    const routes = [
      route('0.0.0.0/0', 2, '198.18.0.254'),
      route('198.18.0.0/24', 2),
      route('10.48.0.0/12', 9),
      route('10.31.255.0/24', 9),
      route('10.32.0.0/12', 7), // weft expose, or an earlier run
    ];
    expect(conflictingRoute(range, routes, links, own)).toBeUndefined();
    expect(() => mustNotOverlapRoutes(range, routes, links, own)).not.toThrow();
  });

  it('says which route and how to fix it, in one line', () => {
    const e = weftErrorOf(() =>
      mustNotOverlapRoutes(range, [route('10.36.0.0/14', 2, '198.18.0.9')], links, own),
    );
    expect(e.code).toBe('OUT_OF_RANGE');
    expect(e.message).toBe(
      '--ipalloc-range 10.32.0.0/12 overlaps the host route 10.36.0.0/14 via 198.18.0.9 dev eth0: choose another range with --ipalloc-range',
    );
  });
});
