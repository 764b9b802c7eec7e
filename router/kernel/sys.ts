/**
 * Loads the native addon `weft_sys` (router/kernel/native, built by
 * scripts/build-native.mjs into build/Release). Looked up from this module's
 * directory upwards (build/Release/weft_sys.node, or weft_sys.node copied
 * beside a bundle), so the same code works from the sources (vitest), from
 * dist/ and from a bundle; WEFT_SYS_ADDON overrides the path.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WeftError } from '../../common/errors.js';

export interface WeftSysConstants {
  CLONE_NEWNET: number;
  TUN_F_CSUM: number;
  TUN_F_TSO4: number;
  TUN_F_TSO6: number;
  TUN_F_TSO_ECN: number;
  TUN_F_UFO: number;
  TUN_F_USO4: number;
  TUN_F_USO6: number;
  WEFT_TUN_TAP: number;
  WEFT_TUN_VNET_HDR: number;
  WEFT_TUN_MULTI_QUEUE: number;
  WEFT_TUN_NONBLOCK: number;
  WEFT_TUN_PERSIST: number;
  WEFT_VNET_HDR_LEN: number;
}

/** The addon's functions; each throws an Error with `code`/`errno`/`syscall` on failure. */
export interface WeftSys {
  setns(fd: number, nstype: number): void;
  tunOpen(name: string, flags: number): { fd: number; name: string };
  tunSetOffload(fd: number, tunFlags: number): void;
  tunSetVnetHdrSize(fd: number, size: number): void;
  setNonblocking(fd: number, on: boolean): void;
  /** 0 when there is no such device in the calling thread's namespace. */
  ifNameToIndex(name: string): number;
  gettid(): number;
  /** A netlink socket (NETLINK_ROUTE = 0) in the calling thread's namespace, with extended ACKs. */
  nlOpen(protocol: number): number;
  /**
   * One netlink request, synchronously: sends it with NLM_F_REQUEST|NLM_F_ACK
   * and returns the payloads of the kernel's replies (a dump's parts, a GET's
   * object; [] for a bare ACK). A kernel error throws with its errno name as
   * `code`; ETIMEDOUT past `timeoutMs`. Blocks the calling thread meanwhile.
   */
  nlRequest(
    fd: number,
    seq: number,
    type: number,
    flags: number,
    payload: Buffer,
    timeoutMs: number,
  ): Buffer[];
  /**
   * A request deleting link `ifindex` (RTM_DELLINK), made on sockets and a
   * helper thread of its own in the calling thread's namespace: returns as
   * soon as the kernel announces the link gone (RTM_DELLINK on the link
   * group) or refuses (throws like nlRequest), while the helper waits out the
   * kernel's RCU clean-up before the ACK.
   */
  nlUnlink(
    seq: number,
    type: number,
    flags: number,
    payload: Buffer,
    ifindex: number,
    timeoutMs: number,
  ): void;
  /** Start a non-blocking TCP connection to a dotted IPv4 address; returns the fd. */
  tcpConnect(host: string, port: number): number;
  /** Wait for the connection, then write all of `data`, within `timeoutMs`. */
  sockSendAll(fd: number, data: Buffer, timeoutMs: number): void;
  /** Read until the peer closes, within `timeoutMs`; EMSGSIZE past `maxBytes`. */
  sockRecvAll(fd: number, timeoutMs: number, maxBytes: number): Buffer;
  readonly constants: WeftSysConstants;
}

const ADDON = join('build', 'Release', 'weft_sys.node');
let cached: WeftSys | undefined;

/**
 * Where a native addon built by scripts/build-native.mjs is: the path in
 * `envVar` when set; else build/Release below a checkout, or the file copied
 * next to a bundle, looking upwards from this module. Shared with the data
 * plane's `weft_sleeve`.
 */
export function findNativeAddon(file: string, envVar: string): string | undefined {
  const override = process.env[envVar];
  if (override) return existsSync(override) ? override : undefined;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, 'build', 'Release', file), join(dir, file)])
      if (existsSync(candidate)) return candidate;
    const parent = resolve(dir, '..');
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function findWeftSysAddon(): string | undefined {
  return findNativeAddon('weft_sys.node', 'WEFT_SYS_ADDON');
}

export function loadWeftSys(): WeftSys {
  if (cached) return cached;
  const path = findWeftSysAddon();
  if (!path) {
    throw new WeftError(
      'INTERNAL',
      'native addon weft_sys is not built: run `npm run build` (scripts/build-native.mjs)',
      {
        looked_for: ADDON,
      },
    );
  }
  cached = createRequire(import.meta.url)(path) as WeftSys;
  return cached;
}
