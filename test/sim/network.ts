/**
 * The simulator's network: hosts with IPv4 addresses, listeners on
 * "ip:port", and in-memory streams between them that behave like TCP as far
 * as the mesh can tell (ordered, reliable, with latency), plus the faults a
 * real network has: partitions (traffic between the sides stalls and resumes
 * on heal, as TCP retransmission would; dials across time out), resets
 * (both ends see an error), and hosts that crash (peers see a reset) or
 * vanish silently (peers notice only by their own timeouts).
 *
 * Every callback runs from an event on the virtual clock, never inside the
 * call that caused it, so no re-entrancy reaches the code under test.
 */
import type { ManualClock } from '../../common/clock.js';
import type { Random } from '../../common/random.js';
import {
  type Stream,
  type StreamCloseReason,
  type StreamListener,
  type StreamTransport,
  TransportError,
} from '../../router/transport/stream.js';
import type { EventQueue } from './event-queue.js';

export interface NetworkOptions {
  /** One-way latency between two hosts. */
  latencyMs: number;
  /** Extra random one-way delay, uniform in [0, jitterMs] (order is preserved on a stream). */
  jitterMs: number;
  /** Dial timeout when the caller gives none. */
  dialTimeoutMs: number;
}

type Chunk = { bytes: Uint8Array } | { fin: true } | { reset: string };

/** One direction of a stream: FIFO with delivery times, stalled while partitioned. */
class Pipe {
  readonly queue: { at: number; chunk: Chunk }[] = [];
  scheduled = false;
  lastAt = 0;
  bytes = 0;
  constructor(
    readonly from: SimEndpoint,
    readonly to: SimEndpoint,
  ) {}
}

export class SimEndpoint implements Stream {
  peer!: SimEndpoint;
  out!: Pipe;
  private dataCb: ((b: Uint8Array) => void) | null = null;
  private closeCb: ((r: StreamCloseReason) => void) | null = null;
  /** Received before a handler was registered (delivered when it is). */
  private inbox: Uint8Array[] = [];
  private closeReason: StreamCloseReason | null = null;
  private closeReported = false;
  closedLocally = false;
  finReceived = false;

  constructor(
    private readonly net: SimNetwork,
    readonly host: string,
    readonly localAddress: string,
    readonly remoteAddress: string,
  ) {}

  get bufferedBytes(): number {
    return this.out.bytes;
  }

  get isClosed(): boolean {
    return this.closeReason !== null;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closeReason !== null || this.finReceived) return false;
    if (bytes.length === 0) return true;
    // No copy: as with a socket, the caller must not modify bytes it has written.
    this.net.send(this.out, { bytes });
    return true;
  }

  onData(cb: (bytes: Uint8Array) => void): void {
    this.dataCb = cb;
    if (this.inbox.length > 0) this.net.soon(() => this.drainInbox());
  }

  onClose(cb: (reason: StreamCloseReason) => void): void {
    this.closeCb = cb;
    if (this.closeReason !== null && !this.closeReported) this.net.soon(() => this.reportClose());
  }

  close(): void {
    if (this.closeReason !== null) return;
    this.closedLocally = true;
    this.net.send(this.out, { fin: true });
    this.setClosed({ kind: 'local' });
  }

  /** Abort both directions (a reset): both ends see an error. */
  reset(message: string): void {
    if (this.closeReason !== null) return;
    this.net.abort(this, message);
  }

  // ---- network side ----

  deliver(chunk: Chunk): void {
    if ('bytes' in chunk) {
      if (this.closeReason !== null) return;
      if (this.dataCb && this.inbox.length === 0) this.dataCb(chunk.bytes);
      else this.inbox.push(chunk.bytes);
    } else if ('fin' in chunk) {
      this.finReceived = true;
      this.setClosed({ kind: 'remote' });
    } else {
      this.setClosed({ kind: 'error', message: chunk.reset });
    }
  }

  private drainInbox(): void {
    while (this.dataCb && this.inbox.length > 0 && this.closeReason === null)
      this.dataCb(this.inbox.shift()!);
    if (this.closeReason !== null && !this.closeReported) this.reportClose();
  }

  setClosed(reason: StreamCloseReason): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.net.forget(this);
    // A local close is reported at once (as the TCP transport does); others when the handler is there.
    if (reason.kind === 'local') this.reportClose();
    else if (this.inbox.length > 0 || !this.closeCb) this.net.soon(() => this.drainInbox());
    else this.reportClose();
  }

  private reportClose(): void {
    if (this.closeReported || !this.closeCb || this.closeReason === null) return;
    if (this.closeReason.kind !== 'local' && this.inbox.length > 0 && this.dataCb) {
      this.drainInbox();
      return;
    }
    this.closeReported = true;
    this.closeCb(this.closeReason);
  }
}

interface Listener {
  address: string;
  onStream: (s: Stream) => void;
}

export class SimNetwork {
  private readonly hosts = new Set<string>();
  private readonly listeners = new Map<string, Listener>();
  private readonly open = new Set<SimEndpoint>();
  /** host → partition group (hosts without a group talk to everyone). */
  private groups: Map<string, number> | null = null;
  private readonly stalled = new Set<Pipe>();
  private readonly silenced = new Set<string>();
  private nextPort = 40_000;
  /** Dials in progress (for quiescence). */
  dialsInFlight = 0;
  /** Pipes with undelivered chunks (for quiescence). */
  private busyPipes = new Set<Pipe>();
  /** Bytes written, by sending host. */
  readonly bytesSent = new Map<string, number>();

  constructor(
    readonly clock: ManualClock,
    readonly queue: EventQueue,
    readonly random: Random,
    readonly opts: NetworkOptions,
    /** Called when a promise was settled, so the run loop lets microtasks run. */
    private readonly onSettled: () => void,
  ) {}

  addHost(ip: string): void {
    this.hosts.add(ip);
    this.silenced.delete(ip);
  }

  hasHost(ip: string): boolean {
    return this.hosts.has(ip);
  }

  transport(ip: string): StreamTransport {
    if (!this.hosts.has(ip)) throw new Error(`sim: no host ${ip}`);
    return {
      dial: (address, o) => this.dial(ip, address, o?.timeoutMs ?? this.opts.dialTimeoutMs),
      listen: (address, onStream) => this.listen(ip, address, onStream),
    };
  }

  /** Run `fn` from the agenda at the current time (after whatever is running now). */
  soon(fn: () => void): void {
    this.queue.push(this.clock.now(), fn);
  }

  private delay(): number {
    const j = this.opts.jitterMs > 0 ? this.random.next() * this.opts.jitterMs : 0;
    return this.opts.latencyMs + j;
  }

  blocked(a: string, b: string): boolean {
    if (this.silenced.has(a) || this.silenced.has(b)) return true;
    if (!this.groups || a === b) return false;
    const ga = this.groups.get(a);
    const gb = this.groups.get(b);
    return ga !== undefined && gb !== undefined && ga !== gb;
  }

  /** Hosts in different groups cannot talk until `heal()`. Hosts in no group talk to all. */
  partition(groups: readonly (readonly string[])[]): void {
    this.groups = new Map();
    groups.forEach((g, i) => {
      for (const h of g) this.groups!.set(h, i);
    });
  }

  heal(): void {
    this.groups = null;
    const stalled = [...this.stalled];
    this.stalled.clear();
    for (const p of stalled) {
      p.scheduled = false;
      this.pump(p);
    }
  }

  /** Reset every open stream between a and b (or touching a, or all). */
  reset(filter: (e: SimEndpoint) => boolean = () => true, message = 'connection reset'): number {
    let n = 0;
    for (const e of [...this.open]) {
      if (this.open.has(e) && filter(e)) {
        e.reset(message);
        n++;
      }
    }
    return n;
  }

  /**
   * Loss, the way a TCP user sees it: until `untilMs` (virtual, absolute), every
   * ~`meanMs` (exponentially distributed gaps) a random open stream is reset.
   */
  randomResets(meanMs: number, untilMs: number): void {
    const next = () => {
      const gap = -Math.log(1 - this.random.next()) * meanMs;
      this.queue.push(this.clock.now() + gap, () => {
        if (this.clock.now() >= untilMs) return;
        const open = [...this.open];
        if (open.length > 0) open[this.random.int(open.length)]!.reset('connection reset (simulated loss)');
        next();
      });
    };
    next();
  }

  /** A host crashes: its listeners go, its streams reset (peers see the reset, like a killed process). */
  crash(ip: string, opts: { silent?: boolean } = {}): void {
    for (const [addr, l] of this.listeners) if (hostPart(addr) === ip) this.listeners.delete(l.address);
    if (opts.silent) {
      // Power cut: nothing reaches the peers; their streams just go quiet.
      this.silenced.add(ip);
      for (const e of [...this.open]) if (e.host === ip) this.drop(e);
      return;
    }
    this.reset((e) => e.host === ip, 'connection reset by peer');
  }

  /** The host comes back (after a crash). */
  revive(ip: string): void {
    this.silenced.delete(ip);
  }

  get idle(): boolean {
    return this.dialsInFlight === 0 && this.busyPipes.size === 0;
  }

  openStreams(): number {
    return this.open.size;
  }

  // ---- internals used by endpoints ----

  send(pipe: Pipe, chunk: Chunk): void {
    const at = Math.max(this.clock.now() + this.delay(), pipe.lastAt);
    pipe.lastAt = at;
    pipe.queue.push({ at, chunk });
    if ('bytes' in chunk) {
      pipe.bytes += chunk.bytes.length;
      const h = pipe.from.host;
      this.bytesSent.set(h, (this.bytesSent.get(h) ?? 0) + chunk.bytes.length);
    }
    this.busyPipes.add(pipe);
    this.pump(pipe);
  }

  private pump(pipe: Pipe): void {
    if (pipe.scheduled || pipe.queue.length === 0) return;
    pipe.scheduled = true;
    const head = pipe.queue[0]!;
    this.queue.push(Math.max(head.at, this.clock.now()), () => {
      pipe.scheduled = false;
      if (pipe.queue.length === 0) return;
      if (this.blocked(pipe.from.host, pipe.to.host)) {
        this.stalled.add(pipe);
        return;
      }
      const { chunk } = pipe.queue.shift()!;
      if ('bytes' in chunk) pipe.bytes -= chunk.bytes.length;
      if (pipe.queue.length === 0) this.busyPipes.delete(pipe);
      pipe.to.deliver(chunk);
      this.pump(pipe);
    });
  }

  forget(e: SimEndpoint): void {
    this.open.delete(e);
  }

  /** Drop an endpoint without telling anyone (its host vanished). */
  private drop(e: SimEndpoint): void {
    this.open.delete(e);
    e.out.queue.length = 0;
    e.out.bytes = 0;
    this.busyPipes.delete(e.out);
  }

  abort(e: SimEndpoint, message: string): void {
    const other = e.peer;
    for (const p of [e.out, other.out]) {
      p.queue.length = 0;
      p.bytes = 0;
      this.busyPipes.delete(p);
    }
    e.setClosed({ kind: 'error', message });
    // The peer learns of the reset after the one-way delay (if it can be reached at all).
    if (!this.blocked(e.host, other.host)) {
      this.queue.push(this.clock.now() + this.delay(), () => other.deliver({ reset: message }));
    }
  }

  private listen(ip: string, address: string, onStream: (s: Stream) => void): Promise<StreamListener> {
    const port = portPart(address);
    const host = hostPart(address);
    if (port === undefined || (host !== ip && host !== '0.0.0.0' && host !== '')) {
      return Promise.reject(new TransportError('other', `sim: cannot listen on ${address} from ${ip}`));
    }
    const bound = `${ip}:${port}`;
    if (this.listeners.has(bound)) return Promise.reject(new TransportError('other', `sim: ${bound} in use`));
    const l: Listener = { address: bound, onStream };
    this.listeners.set(bound, l);
    return Promise.resolve({
      address: bound,
      close: async () => {
        if (this.listeners.get(bound) === l) this.listeners.delete(bound);
      },
    });
  }

  private dial(fromIp: string, address: string, timeoutMs: number): Promise<Stream> {
    const toIp = hostPart(address);
    const port = portPart(address);
    this.dialsInFlight++;
    return new Promise<Stream>((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.dialsInFlight--;
        timer.cancelled = true;
        f();
        this.onSettled();
      };
      const timer = this.queue.push(this.clock.now() + timeoutMs, () =>
        settle(() =>
          reject(new TransportError('timeout', `dial ${address}: timed out after ${timeoutMs} ms`)),
        ),
      );
      if (port === undefined || !this.hosts.has(toIp)) {
        this.queue.push(this.clock.now() + this.delay(), () =>
          settle(() => reject(new TransportError('unreachable', `dial ${address}: no route to host`))),
        );
        return;
      }
      // SYN reaches the other host after one delay (unless partitioned: then the dial times out).
      this.queue.push(this.clock.now() + this.delay(), () => {
        if (settled || this.blocked(fromIp, toIp)) return;
        const l = this.listeners.get(`${toIp}:${port}`);
        const back = this.delay();
        if (!l) {
          this.queue.push(this.clock.now() + back, () =>
            settle(() => reject(new TransportError('refused', `dial ${address}: connection refused`))),
          );
          return;
        }
        const localAddr = `${fromIp}:${this.nextPort++}`;
        const client = new SimEndpoint(this, fromIp, localAddr, `${toIp}:${port}`);
        const server = new SimEndpoint(this, toIp, `${toIp}:${port}`, localAddr);
        client.peer = server;
        server.peer = client;
        client.out = new Pipe(client, server);
        server.out = new Pipe(server, client);
        client.out.lastAt = this.clock.now() + back;
        this.open.add(client);
        this.open.add(server);
        l.onStream(server);
        // SYN-ACK back to the dialler.
        this.queue.push(this.clock.now() + back, () => {
          if (settled) {
            // Timed out meanwhile: the dialler gave up; the server side sees a reset.
            client.reset('dial abandoned');
            return;
          }
          settle(() => resolve(client));
        });
      });
    });
  }
}

export function hostPart(address: string): string {
  const i = address.lastIndexOf(':');
  return i < 0 ? address : address.slice(0, i);
}

function portPart(address: string): number | undefined {
  const m = /:(\d{1,5})$/.exec(address);
  return m ? Number(m[1]) : undefined;
}
