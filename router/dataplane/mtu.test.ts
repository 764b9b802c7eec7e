import { describe, expect, it } from 'vitest';
import {
  checkOverlayMtu,
  defaultOverlayMtu,
  FASTDP_OVERHEAD,
  maxDatagramForPathMtu,
  SLEEVE_OVERHEAD,
} from './mtu.js';

describe('overlay MTU', () => {
  it('default fits one sleeve datagram and one VXLAN packet on a 1500-byte underlay', () => {
    const mtu = defaultOverlayMtu(1500);
    expect(mtu).toBe(1390);
    // An MTU-sized IP packet in an Ethernet frame, sealed, plus IPv4/UDP: exactly the underlay MTU.
    expect(mtu + SLEEVE_OVERHEAD).toBe(1500);
    expect(mtu + FASTDP_OVERHEAD).toBeLessThanOrEqual(1500);
    // The sleeve datagram for it is exactly the largest unfragmented one.
    expect(mtu + SLEEVE_OVERHEAD - 28).toBe(maxDatagramForPathMtu(1500));
  });

  it('scales with jumbo underlays and never goes below 576', () => {
    expect(defaultOverlayMtu(9000)).toBe(8890);
    expect(defaultOverlayMtu(600)).toBe(576);
  });

  it('datagram size follows the path MTU within the engine limits', () => {
    expect(maxDatagramForPathMtu(1500)).toBe(1472);
    expect(maxDatagramForPathMtu(100)).toBe(576);
    expect(maxDatagramForPathMtu(100_000)).toBe(65507);
  });

  it('checks a user MTU', () => {
    expect(checkOverlayMtu(1376)).toBeNull();
    expect(checkOverlayMtu(100)).toEqual({ kind: 'too-small', min: 576 });
    expect(checkOverlayMtu(70000)).toEqual({ kind: 'too-large', max: 65000 });
    expect(checkOverlayMtu(1400.5)).toEqual({ kind: 'not-an-integer' });
  });
});
