/**
 * TUN/TAP devices through the weft_sys addon. The fd is a plain file
 * descriptor: read/write one frame per call (with a virtio net header first
 * when `vnetHdr`), or hand it to the native packet engine, which can open its
 * own queues with the same C code (native/weft_tun.h).
 *
 * A device that is not `persist`ed disappears when its last fd is closed.
 */
import { closeSync } from 'node:fs';
import { kernelError } from './kernel-errors.js';
import type { NetnsRef } from './kernel-net.js';
import { withNetns } from './netns.js';
import { loadWeftSys } from './sys.js';

export interface TunOpenOptions {
  /** Ethernet frames (TAP, default) or bare IP packets (TUN). */
  tap?: boolean;
  /** Prefix every frame with a struct virtio_net_hdr (VNET_HDR_LEN bytes), enabling offloads. */
  vnetHdr?: boolean;
  /** Open one queue of a multi-queue device; open again with the same name for more queues. */
  multiQueue?: boolean;
  nonBlocking?: boolean;
  /** Keep the device when the last fd closes. */
  persist?: boolean;
  /** Create/attach the device in this namespace (default: the caller's). */
  netns?: NetnsRef;
}

export interface TunDevice {
  readonly fd: number;
  /** The device's name (the kernel picks one for a pattern like "weft%d"). */
  readonly name: string;
  /** Bytes of virtio net header before each frame: 0 or VNET_HDR_LEN. */
  readonly vnetHdrLen: number;
  close(): void;
}

/** struct virtio_net_hdr_v1 (with num_buffers), the header size weft always asks for. */
export const VNET_HDR_LEN = 12;

/** Offloads userspace accepts in frames it reads (TUNSETOFFLOAD); the kernel then may hand over GSO super-frames. */
export interface TunOffloads {
  /** Frames may carry a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
  csum?: boolean;
  tso4?: boolean;
  tso6?: boolean;
  tsoEcn?: boolean;
  /** UDP segmentation offload (kernel ≥ 6.2). */
  uso4?: boolean;
  uso6?: boolean;
}

export function openTun(name: string, opts: TunOpenOptions = {}): TunDevice {
  const sys = loadWeftSys();
  const k = sys.constants;
  let flags = 0;
  if (opts.tap ?? true) flags |= k.WEFT_TUN_TAP;
  if (opts.vnetHdr) flags |= k.WEFT_TUN_VNET_HDR;
  if (opts.multiQueue) flags |= k.WEFT_TUN_MULTI_QUEUE;
  if (opts.nonBlocking) flags |= k.WEFT_TUN_NONBLOCK;
  if (opts.persist) flags |= k.WEFT_TUN_PERSIST;
  const open = () => sys.tunOpen(name, flags);
  let r: { fd: number; name: string };
  try {
    r = opts.netns ? withNetns(opts.netns, open) : open();
  } catch (e) {
    throw kernelError(opts.tap === false ? 'open tun' : 'open tap', e, { link: name });
  }
  let open_ = true;
  return {
    fd: r.fd,
    name: r.name,
    vnetHdrLen: opts.vnetHdr ? k.WEFT_VNET_HDR_LEN : 0,
    close() {
      if (!open_) return;
      open_ = false;
      closeSync(r.fd);
    },
  };
}

export function setTunOffload(dev: Pick<TunDevice, 'fd' | 'name'>, offloads: TunOffloads): void {
  const sys = loadWeftSys();
  const k = sys.constants;
  let flags = 0;
  if (offloads.csum) flags |= k.TUN_F_CSUM;
  if (offloads.tso4) flags |= k.TUN_F_TSO4;
  if (offloads.tso6) flags |= k.TUN_F_TSO6;
  if (offloads.tsoEcn) flags |= k.TUN_F_TSO_ECN;
  if (offloads.uso4) flags |= k.TUN_F_USO4;
  if (offloads.uso6) flags |= k.TUN_F_USO6;
  try {
    sys.tunSetOffload(dev.fd, flags);
  } catch (e) {
    throw kernelError('set tun offload', e, { link: dev.name, offloads });
  }
}
