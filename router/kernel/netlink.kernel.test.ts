/**
 * The netlink adapter against the real kernel: the KernelNet compliance suite
 * in two fresh lab namespaces per test, over each transport.
 */
import type { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Lab } from '../../test/netns/lab.js';
import { describeKernelNetCompliance } from './kernel-net.compliance.js';
import { openNetlinkKernel } from './netlink-kernel.js';
import { RtnlSocket } from './netlink-socket.js';
import { Netns } from './netns.js';
import { dumpLinksRequest } from './rtnl-link.js';

// Both transports: the `netlink` package's socket (the daemon's) and the
// weft_sys addon's synchronous requests (the CNI plugin's).
for (const [name, native] of [
  ['netlink (real kernel)', false],
  ['netlink via weft_sys (real kernel)', true],
] as const)
  describeKernelNetCompliance(name, async () => {
    const lab = await Lab.create(0);
    const aRef = Netns.open(await lab.addNamespace('a'));
    const bRef = Netns.open(await lab.addNamespace('b'));
    const a = openNetlinkKernel({ netns: aRef, native });
    const b = openNetlinkKernel({ netns: bRef, native });
    return {
      a,
      b,
      bRef,
      cleanup: async () => {
        a.close();
        b.close();
        aRef.close();
        bRef.close();
        await lab.cleanup();
      },
    };
  });

describe('rtnetlink socket', () => {
  it('a socket error fails the requests in flight instead of crashing the process', async () => {
    const sock = RtnlSocket.open();
    try {
      const pending = sock.request(dumpLinksRequest());
      // What the package does on a receive error (e.g. ENOBUFS): an 'error' event.
      (sock as unknown as { socket: EventEmitter }).socket.emit(
        'error',
        Object.assign(new Error('recv'), { code: 'ENOBUFS' }),
      );
      await expect(pending).rejects.toMatchObject({ code: 'ENOBUFS' });
      // The socket recovers: once the abandoned dump has drained (EBUSY until then), requests work again.
      const links = () =>
        sock.request(dumpLinksRequest()).then(
          (r) => r.length,
          () => 0,
        );
      await expect.poll(links, { timeout: 3000 }).toBeGreaterThan(0);
    } finally {
      sock.close();
    }
  });
});
