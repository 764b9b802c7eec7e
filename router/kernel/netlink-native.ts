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
 */
import { closeSync } from 'node:fs';
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
  ) {}

  /** Synchronous: the socket joins the calling thread's current namespace. */
  static open(opts: { timeoutMs?: number } = {}): NativeRtnlSocket {
    const sys = loadWeftSys();
    return new NativeRtnlSocket(sys, sys.nlOpen(NETLINK_ROUTE), opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  }

  /** Answered before it returns; the promise only keeps the transport's shape. */
  request(req: RtnlRequest): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new Error('netlink socket is closed'));
    // Sequence numbers only need to differ from a timed-out request's, whose late answer is skipped.
    this.seq = (this.seq + 1) | 0 || 1;
    try {
      return Promise.resolve(
        this.sys.nlRequest(this.fd, this.seq, req.type, req.flags, req.data, this.timeoutMs),
      );
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
