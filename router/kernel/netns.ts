/**
 * Network namespaces: open one by name or path, and run synchronous code
 * inside it with `withNetns`.
 *
 * Why this works in Node: setns(2) moves only the calling THREAD, and a socket
 * (netlink, TUN, packet) or a child process keeps the namespace of the thread
 * that created it. So `withNetns(ns, () => openNetlinkKernel())` gives a
 * netlink socket that configures `ns` for its whole life, `withNetns(ns, () =>
 * spawn(...))` starts a process inside `ns`, and synchronous fs calls on
 * /proc/sys inside the callback see `ns`'s sysctls — while libuv's thread pool
 * and every other thread stay where they were. The callback must be
 * synchronous: anything it leaves for later runs after we have switched back.
 *
 * We always switch back, also when the callback throws. If switching back
 * itself fails (only possible if a namespace fd was closed underneath us) the
 * thread is in the wrong namespace and nothing it does afterwards can be
 * trusted, so we throw a KERNEL_ERROR marked `fatal`.
 */
import { closeSync, openSync } from 'node:fs';
import { WeftError } from '../../common/errors.js';
import { kernelError } from './kernel-errors.js';
import type { NetnsRef } from './kernel-net.js';
import { loadWeftSys } from './sys.js';

/** Where `ip netns add NAME` mounts named namespaces. */
export const NETNS_RUN_DIR = '/var/run/netns';

export class Netns implements NetnsRef {
  private open = true;

  private constructor(
    readonly fd: number,
    readonly path: string,
  ) {}

  /** A named namespace ("wt1-h1" → /var/run/netns/wt1-h1) or any path to an nsfs file. */
  static open(nameOrPath: string): Netns {
    const path = nameOrPath.includes('/') ? nameOrPath : `${NETNS_RUN_DIR}/${nameOrPath}`;
    try {
      // Node opens with O_CLOEXEC: child processes do not inherit the handle.
      return new Netns(openSync(path, 'r'), path);
    } catch (e) {
      throw kernelError('open netns', e, { path });
    }
  }

  /** The namespace a process is in. */
  static ofPid(pid: number): Netns {
    return Netns.open(`/proc/${pid}/ns/net`);
  }

  /** The calling thread's current namespace. */
  static current(): Netns {
    return Netns.open('/proc/thread-self/ns/net');
  }

  get isOpen(): boolean {
    return this.open;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }
}

// This thread's own namespace, opened once; and the namespaces entered by
// nested withNetns calls, innermost last, so each call returns to its caller's.
let homeFd: number | undefined;
const entered: number[] = [];

export function withNetns<T>(ns: NetnsRef, fn: () => T): T {
  const sys = loadWeftSys();
  const CLONE_NEWNET = sys.constants.CLONE_NEWNET;
  if (homeFd === undefined) homeFd = openSync('/proc/thread-self/ns/net', 'r');
  const back = entered.length > 0 ? entered[entered.length - 1]! : homeFd;
  try {
    sys.setns(ns.fd, CLONE_NEWNET);
  } catch (e) {
    throw kernelError('setns', e, { path: ns.path, fd: ns.fd });
  }
  entered.push(ns.fd);
  let result: T;
  try {
    result = fn();
  } finally {
    entered.pop();
    try {
      sys.setns(back, CLONE_NEWNET);
    } catch (e) {
      // biome-ignore lint/correctness/noUnsafeFinally: being stranded in the wrong namespace must win over fn's error
      throw kernelError('setns (return)', e, { fatal: true, path: ns.path });
    }
  }
  if (isThenable(result)) {
    throw new WeftError(
      'INTERNAL',
      'withNetns needs a synchronous function: its async part would run outside the namespace',
    );
  }
  return result;
}

function isThenable(v: unknown): boolean {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
