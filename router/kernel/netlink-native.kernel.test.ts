/**
 * The synchronous netlink path of the weft_sys addon (netlink-native.ts)
 * against the real kernel, beyond the KernelNet compliance suite (which
 * netlink.kernel.test.ts runs over it too): what only this transport does
 * itself — multi-datagram dumps, the kernel's errors, link deletion that
 * returns once the link is unlisted (in another namespace too), a closed
 * socket, and bad arguments that must throw rather than crash.
 */
import { describe, expect, it } from 'vitest';
import { Lab } from '../../test/netns/lab.js';
import { errnoOf, kernelError } from './kernel-errors.js';
import { NativeRtnlSocket } from './netlink-native.js';
import { Netns, withNetns } from './netns.js';
import {
  createBridgeRequest,
  createVethRequest,
  decodeLink,
  deleteLinkRequest,
  dumpLinksRequest,
  getLinkRequest,
} from './rtnl-link.js';
import { loadWeftSys } from './sys.js';

/** A socket in a fresh lab namespace for one test. */
async function inFreshNamespace(fn: (sock: NativeRtnlSocket) => Promise<void>): Promise<void> {
  const lab = await Lab.create(0);
  const ns = Netns.open(await lab.addNamespace('n'));
  const sock = withNetns(ns, () => NativeRtnlSocket.open({ timeoutMs: 2000 }));
  try {
    await fn(sock);
  } finally {
    sock.close();
    ns.close();
    await lab.cleanup();
  }
}

describe('weft_sys netlink requests', () => {
  it('collects a dump that spans many datagrams', async () => {
    await inFreshNamespace(async (sock) => {
      // ~1.5 KB per bridge in a dump: 150 bridges need several 32 KiB datagrams.
      for (let i = 0; i < 150; i++) await sock.request(createBridgeRequest(`nb${i}`, {}));
      const names = (await sock.request(dumpLinksRequest())).map((p) => decodeLink(p)?.name);
      expect(names.filter((n) => n?.startsWith('nb'))).toHaveLength(150);
      expect(names).toContain('lo');
    });
  }, 60_000);

  it('a kernel refusal carries its errno and the kernel’s own explanation', async () => {
    await inFreshNamespace(async (sock) => {
      await sock.request(createBridgeRequest('dup0', {}));
      const e = await sock.request(createBridgeRequest('dup0', {})).catch((x: unknown) => x);
      expect(errnoOf(e)).toBe('EEXIST');
      // The extended ACK: the kernel says why, not only EINVAL.
      const tiny = await sock.request(createBridgeRequest('tiny0', { mtu: 10 })).catch((x: unknown) => x);
      expect(errnoOf(tiny)).toBe('EINVAL');
      expect((tiny as Error).message).toMatch(/mtu less than device minimum/);
      // …and through the adapter, in the KERNEL_ERROR an operator reads.
      const weft = kernelError('create bridge', tiny);
      expect(weft.message).toBe('create bridge failed: EINVAL (mtu less than device minimum)');
      expect(weft.details).toMatchObject({ errno: 'EINVAL', kernelMessage: 'mtu less than device minimum' });
      const missing = await sock.request(getLinkRequest('nosuch0')).catch((x: unknown) => x);
      expect(errnoOf(missing)).toBe('ENODEV');
      expect((missing as Error).message).toMatch(/ENODEV/);
    });
  });

  it('unlink: the veth pair is gone from both namespaces when it returns; a refusal throws its errno', async () => {
    const lab = await Lab.create(0);
    const a = Netns.open(await lab.addNamespace('ua'));
    const b = Netns.open(await lab.addNamespace('ub'));
    // Opened inside namespace A, so unlink must make its own sockets and helper there too.
    const sock = withNetns(a, () => NativeRtnlSocket.open({ netns: a }));
    const inB = withNetns(b, () => NativeRtnlSocket.open({ netns: b }));
    try {
      await sock.request(createVethRequest('uv0', { name: 'uv1', netns: b }, {}));
      const [host] = await sock.request(getLinkRequest('uv0'));
      const index = decodeLink(host!)!.index;
      await sock.unlink(deleteLinkRequest(index), index);
      expect(errnoOf(await sock.request(getLinkRequest('uv0')).catch((x: unknown) => x))).toBe('ENODEV');
      expect(errnoOf(await inB.request(getLinkRequest('uv1')).catch((x: unknown) => x))).toBe('ENODEV');
      // Nothing by that index any more: the kernel's refusal, not a hang or a false success.
      const again = await sock.unlink(deleteLinkRequest(index), index).catch((x: unknown) => x);
      expect(errnoOf(again)).toBe('ENODEV');
    } finally {
      sock.close();
      inB.close();
      a.close();
      b.close();
      await lab.cleanup();
    }
  });

  it('a closed socket rejects instead of writing to a reused descriptor', async () => {
    const sock = NativeRtnlSocket.open();
    sock.close();
    await expect(sock.request(dumpLinksRequest())).rejects.toThrow(/closed/);
    sock.close();
  });

  it('bad arguments throw errors, never crash the process', () => {
    const sys = loadWeftSys();
    expect(() => sys.nlRequest(-1, 1, 18, 0, Buffer.alloc(16), 100)).toThrow(/EBADF/);
    expect(() => (sys.nlRequest as (...a: unknown[]) => unknown)(0, 1, 18, 0, 'not a buffer', 100)).toThrow(
      /payload must be a Buffer/,
    );
    expect(() => (sys.nlRequest as (...a: unknown[]) => unknown)(0, 1)).toThrow(/missing arguments/);
  });
});
