/**
 * How the weft-net verbs reach the kernel: a KernelNet for the host
 * namespace, and one for a container namespace opened by path. The real one
 * is rtnetlink through the weft_sys addon's synchronous requests (no netlink
 * package, no event-loop round trip per request: a plugin call is a handful
 * of requests), loaded lazily so that VERSION and errors never pay for it.
 */
import type { KernelNet, NetnsRef } from '../../router/kernel/kernel-net.js';

export interface ContainerNetns {
  readonly ref: NetnsRef;
  /** A KernelNet bound to the container's namespace (opened on first use). */
  kernel(): KernelNet;
  close(): void;
}

export interface KernelAccess {
  host(): KernelNet;
  /** Throws a KERNEL_ERROR (ENOENT…) when the namespace cannot be opened. */
  openNetns(path: string): ContainerNetns;
  /** Release every socket and handle opened so far. */
  close(): void;
}

export async function netlinkKernelAccess(): Promise<KernelAccess> {
  const [{ openNetlinkKernel }, { Netns }] = await Promise.all([
    import('../../router/kernel/netlink-kernel.js'),
    import('../../router/kernel/netns.js'),
  ]);
  const opened: Array<{ close(): void }> = [];
  let host: KernelNet | undefined;
  return {
    host() {
      if (!host) {
        host = openNetlinkKernel({ native: true });
        opened.push(host);
      }
      return host;
    },
    openNetns(path) {
      const ns = Netns.open(path);
      opened.push(ns);
      let k: KernelNet | undefined;
      return {
        ref: ns,
        kernel() {
          if (!k) {
            k = openNetlinkKernel({ netns: ns, native: true });
            opened.push(k);
          }
          return k;
        },
        close() {
          k?.close();
          ns.close();
        },
      };
    },
    close() {
      for (const o of opened.reverse()) {
        try {
          o.close();
        } catch {
          /* closing twice is harmless */
        }
      }
    },
  };
}
