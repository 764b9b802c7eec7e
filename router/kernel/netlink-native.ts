/**
 * rtnetlink through the weft_sys addon: each request is one synchronous call
 * (send, wait for the kernel's answer, collect it) made in C, with the same
 * codecs (rtnl-*.ts) as the `netlink` package's socket. A CNI plugin spends
 * its life in a handful of requests: this path spares it loading the package
 * (its modules and its own native binding) and an event-loop round trip per
 * request. The thread blocks while the kernel works, which is what a plugin
 * wants and what a long-lived router must not do: the daemon keeps
 * netlink-socket.ts.
 *
 * Like any socket, it belongs to the namespace of the thread that opened it:
 * open it inside `withNetns` to configure another namespace.
 *
 * Deleting a link is the one request that does not wait for the kernel's
 * whole answer: the kernel unlists the device (a veth's peer, its addresses
 * and routes with it) and announces it at once, then spends ~15 ms in an RCU
 * grace period before it ACKs. `unlink` returns at the announcement and lets
 * a helper thread of the addon wait out the rest, so a CNI DEL releases the
 * address meanwhile; the process still cannot end before the helper does.
 */
import { closeSync } from 'node:fs';
import type { NetnsRef } from './kernel-net.js';
import { withNetns } from './netns.js';
import { DEFAULT_REQUEST_TIMEOUT_MS, type RtnlRequest, type RtnlTransport } from './rtnl-structs.js';
import { loadWeftSys, type WeftSys } from './sys.js';

const NETLINK_ROUTE = 0;

export class NativeRtnlSocket implements RtnlTransport {
  private seq = 0;
  private closed = false;

  private constructor(
    private readonly sys: WeftSys,
    private readonly fd: number,
    private readonly timeoutMs: number,
    /** The namespace the socket was opened in, when not the caller's (for `unlink`'s own sockets). */
    private readonly netns: NetnsRef | undefined,
  ) {}

  /**
   * Synchronous: the socket joins the calling thread's current namespace.
   * Pass that namespace as `netns` when it is not the thread's own (opened
   * inside `withNetns`): `unlink` opens its sockets there too.
   */
  static open(opts: { timeoutMs?: number; netns?: NetnsRef } = {}): NativeRtnlSocket {
    const sys = loadWeftSys();
    const timeout = opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new NativeRtnlSocket(sys, sys.nlOpen(NETLINK_ROUTE), timeout, opts.netns);
  }

  private nextSeq(): number {
    // Sequence numbers only need to differ from a timed-out request's, whose late answer is skipped.
    this.seq = (this.seq + 1) | 0 || 1;
    return this.seq;
  }

  /** Answered before it returns; the promise only keeps the transport's shape. */
  request(req: RtnlRequest): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new Error('netlink socket is closed'));
    try {
      const seq = this.nextSeq();
      return Promise.resolve(this.sys.nlRequest(this.fd, seq, req.type, req.flags, req.data, this.timeoutMs));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Returns once the kernel has unlisted the link; a helper thread of the
   * addon finishes the request (the kernel's RCU wait, ~15 ms for a veth)
   * meanwhile, and the process cannot exit before it has.
   */
  unlink(req: RtnlRequest, ifindex: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('netlink socket is closed'));
    try {
      const seq = this.nextSeq();
      const call = () => this.sys.nlUnlink(seq, req.type, req.flags, req.data, ifindex, this.timeoutMs);
      if (this.netns) withNetns(this.netns, call);
      else call();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
