/**
 * One rtnetlink socket, from the `netlink` package's message layer (sequence
 * numbers, ACK/ERROR handling, multipart dumps) without its generated
 * rtnetlink structs, which weft replaces with its own codecs (rtnl-*.ts):
 * loading `netlink/dist/netlink.js` costs ~8 ms against ~25 ms for the whole
 * package, and every CNI plugin call pays it.
 *
 * The socket is bound to the network namespace of the thread that opens it;
 * open it inside `withNetns` to configure another namespace.
 */
import { createNetlink, type NetlinkSocket } from 'netlink/dist/netlink.js';

import { DEFAULT_REQUEST_TIMEOUT_MS, type RtnlRequest, type RtnlTransport } from './rtnl-structs.js';

export { DEFAULT_REQUEST_TIMEOUT_MS };

const NETLINK_ROUTE = 0;

export class RtnlSocket implements RtnlTransport {
  private closed = false;
  /** Rejecters of the requests in flight, failed together when the socket reports an error. */
  private readonly inFlight = new Set<(e: unknown) => void>();
  /** Tail of the request queue, and how many requests are in it (sent or waiting). */
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;

  private constructor(
    private readonly socket: NetlinkSocket,
    private readonly timeoutMs: number,
  ) {
    // A receive error (e.g. ENOBUFS) would otherwise be an unhandled 'error'
    // event and kill the process; fail the requests waiting instead.
    socket.on('error', (e) => {
      for (const reject of this.inFlight) reject(e);
      this.inFlight.clear();
    });
  }

  /** Synchronous: the socket joins the calling thread's current namespace. */
  static open(opts: { timeoutMs?: number } = {}): RtnlSocket {
    return new RtnlSocket(createNetlink(NETLINK_ROUTE), opts.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  }

  /**
   * Send a request and wait for its answer: the payloads of the reply messages
   * (a dump's parts, or the one object a GET returns), [] for a bare ACK. A
   * kernel error rejects with "Request rejected: E…" (see kernel-errors.ts).
   */
  request(req: RtnlRequest): Promise<Buffer[]> {
    // One request at a time per socket: the kernel runs one dump per socket
    // (a second is EBUSY), and the package's reassembly of a multipart dump
    // breaks if another reply arrives in the middle. An idle socket sends at
    // once; otherwise the request waits for the previous one.
    const idle = this.queued === 0;
    this.queued++;
    const run = (idle ? this.send(req) : this.queue.then(() => this.send(req))).finally(() => {
      this.queued--;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private async send(req: RtnlRequest): Promise<Buffer[]> {
    if (this.closed) throw new Error('netlink socket is closed');
    let rejectOnError: (e: unknown) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      rejectOnError = reject;
    });
    this.inFlight.add(rejectOnError);
    try {
      const reply = this.socket.request(req.type, req.data, { flags: req.flags, timeout: this.timeoutMs });
      const [msgs] = await Promise.race([reply, failed]);
      return msgs.map((m) => m.data);
    } finally {
      this.inFlight.delete(rejectOnError);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
