/**
 * Building blocks for the kernel tests of this folder (not product code): a
 * host namespace with a bridge, and "containers" (namespaces) attached to it
 * by a veth whose container end is created directly inside the container.
 * Everything goes through KernelNet, so these helpers exercise the adapter too.
 */
import type { Lab } from '../../router/demo/lab.js';
import type { KernelNet } from '../../router/kernel/kernel-net.js';
import { openNetlinkKernel } from '../../router/kernel/netlink-kernel.js';
import { Netns } from '../../router/kernel/netns.js';

export interface TestNs {
  name: string;
  ref: Netns;
  kernel: KernelNet;
}

export function openTestNs(name: string): TestNs {
  const ref = Netns.open(name);
  return { name, ref, kernel: openNetlinkKernel({ netns: ref }) };
}

export function closeTestNs(...all: (TestNs | undefined)[]): void {
  for (const ns of all) {
    ns?.kernel.close();
    ns?.ref.close();
  }
}

export interface Container extends TestNs {
  mac: string;
  ip: string;
}

/** A lab namespace attached to `bridge` in `host` as eth0 with `cidr`. */
export async function attachContainer(
  lab: Lab,
  host: TestNs,
  suffix: string,
  opts: { bridge: string; hostIf: string; cidr: string; mtu?: number; gateway?: string },
): Promise<Container> {
  const c = openTestNs(await lab.addNamespace(suffix));
  const mtu = opts.mtu === undefined ? {} : { mtu: opts.mtu };
  await host.kernel.createVeth(opts.hostIf, { name: 'eth0', netns: c.ref, ...mtu }, mtu);
  await host.kernel.setLink(opts.hostIf, { master: opts.bridge, up: true });
  await c.kernel.setLink('eth0', { up: true });
  await c.kernel.addAddress('eth0', opts.cidr);
  await c.kernel.addRoute({ dst: '224.0.0.0/4', dev: 'eth0' });
  if (opts.gateway) await c.kernel.addRoute({ dst: '0.0.0.0/0', gateway: opts.gateway });
  const eth0 = await c.kernel.getLink('eth0');
  return { ...c, mac: eth0!.mac, ip: opts.cidr.split('/')[0]! };
}

/** One ICMP echo; true when answered within `waitS` seconds. */
export async function pings(lab: Lab, from: TestNs, to: string, waitS = 2): Promise<boolean> {
  const r = await lab.exec(from.name, 'ping', ['-c', '1', '-W', String(waitS), to]);
  return r.code === 0;
}
