/**
 * The netlink adapter against the real kernel: the KernelNet compliance suite
 * in two fresh lab namespaces per test.
 */
import { Lab } from '../../test/netns/lab.js';
import { describeKernelNetCompliance } from './kernel-net.compliance.js';
import { openNetlinkKernel } from './netlink-kernel.js';
import { Netns } from './netns.js';

describeKernelNetCompliance('netlink (real kernel)', async () => {
  const lab = await Lab.create(0);
  const aRef = Netns.open(await lab.addNamespace('a'));
  const bRef = Netns.open(await lab.addNamespace('b'));
  const a = openNetlinkKernel({ netns: aRef });
  const b = openNetlinkKernel({ netns: bRef });
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
