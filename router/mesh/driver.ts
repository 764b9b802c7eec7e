/**
 * The thin shell around a MeshRouter: performs its effects on a real
 * StreamTransport and a Scheduler, and feeds transport events back in. The
 * daemon uses it with TCP and real timers, the simulator with in-memory
 * streams and its virtual clock; nothing here decides anything.
 *
 *   const driver = new MeshDriver({ ...meshOptions, transport, scheduler: realScheduler,
 *                                   onPersistTargets: (a) => store.setDirectPeers(a) });
 *   await driver.listen('0.0.0.0:6783');
 *   driver.start();
 *   ...
 *   await driver.stop();
 */
import type { Stream, StreamListener, StreamTransport } from '../transport/stream.js';
import { TransportError } from '../transport/stream.js';
import type { MeshEffect } from './effects.js';
import { type MeshOptions, MeshRouter } from './router.js';

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface MeshDriverOptions extends Omit<MeshOptions, 'effects'> {
  transport: StreamTransport;
  scheduler: Scheduler;
  /** The direct targets changed: persist them (the daemon's router-state store). */
  onPersistTargets?: (addresses: string[]) => void;
  /** Something in the report changed. */
  onChanged?: (what: 'topology' | 'connections' | 'targets') => void;
  /** Every effect, after it was performed (tests, tracing). */
  onEffect?: (e: MeshEffect) => void;
  /**
   * A stream whose unsent bytes would exceed this is closed (the peer is not
   * reading: stalled, or hostile); default DEFAULT_MAX_SEND_BACKLOG. Gossip
   * already waits at a smaller backlog; this bounds everything else.
   */
  maxSendBacklogBytes?: number;
}

/** Eight maximal frames: far more than a healthy peer ever leaves unread. */
export const DEFAULT_MAX_SEND_BACKLOG = 64 * 1024 * 1024;

export class MeshDriver {
  readonly router: MeshRouter;
  private readonly streams = new Map<number, Stream>();
  private readonly timers = new Map<string, unknown>();
  private readonly listeners: StreamListener[] = [];
  private stopped = false;

  constructor(private readonly opts: MeshDriverOptions) {
    this.router = new MeshRouter({
      ...opts,
      effects: (e) => this.perform(e),
      backlog: (id) => this.streams.get(id)?.bufferedBytes ?? 0,
    });
  }

  /** Accept mesh connections on "host:port". */
  async listen(address: string): Promise<StreamListener> {
    const l = await this.opts.transport.listen(address, (s) => this.accepted(s));
    this.listeners.push(l);
    return l;
  }

  start(): void {
    this.router.start();
  }

  /** Shut the router down (peers are told), close listeners, cancel timers. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.router.shutdown();
    this.stopped = true;
    for (const h of this.timers.values()) this.opts.scheduler.clearTimeout(h);
    this.timers.clear();
    await Promise.all(this.listeners.map((l) => l.close()));
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
  }

  /**
   * Drop everything without telling anyone, as if the process died (the
   * simulator's crash; the network then resets or silences the streams).
   */
  kill(): void {
    this.stopped = true;
    for (const h of this.timers.values()) this.opts.scheduler.clearTimeout(h);
    this.timers.clear();
    this.streams.clear();
  }

  private accepted(s: Stream): void {
    if (this.stopped) {
      s.close();
      return;
    }
    const id = this.router.newStreamId();
    this.attach(id, s);
    this.router.streamAccepted(id, { remoteAddress: s.remoteAddress, localAddress: s.localAddress });
  }

  private attach(id: number, s: Stream): void {
    this.streams.set(id, s);
    s.onData((bytes) => {
      if (!this.stopped && this.streams.get(id) === s) this.router.streamData(id, bytes);
    });
    s.onClose((reason) => {
      // A close we asked for was already removed from the map: the router knows.
      if (this.stopped || this.streams.get(id) !== s) return;
      this.streams.delete(id);
      this.router.streamClosed(id, reason);
    });
  }

  private perform(e: MeshEffect): void {
    switch (e.kind) {
      case 'write': {
        const s = this.streams.get(e.stream);
        if (!s) break;
        const max = this.opts.maxSendBacklogBytes ?? DEFAULT_MAX_SEND_BACKLOG;
        if (s.bufferedBytes + e.bytes.length > max) {
          this.abandon(e.stream, s, `send backlog over ${max} bytes: the peer is not reading`);
          break;
        }
        s.write(e.bytes);
        break;
      }
      case 'close': {
        const s = this.streams.get(e.stream);
        this.streams.delete(e.stream);
        s?.close();
        break;
      }
      case 'dial':
        this.dial(e.stream, e.address, e.timeoutMs);
        break;
      case 'set-timer': {
        if (this.stopped) break;
        const old = this.timers.get(e.key);
        if (old !== undefined) this.opts.scheduler.clearTimeout(old);
        const key = e.key;
        const h = this.opts.scheduler.setTimeout(() => {
          if (this.timers.get(key) !== h) return;
          this.timers.delete(key);
          this.router.timerFired(key);
        }, e.delayMs);
        this.timers.set(key, h);
        break;
      }
      case 'cancel-timer': {
        const h = this.timers.get(e.key);
        if (h !== undefined) this.opts.scheduler.clearTimeout(h);
        this.timers.delete(e.key);
        break;
      }
      case 'persist-targets':
        this.opts.onPersistTargets?.(e.addresses);
        break;
      case 'changed':
        this.opts.onChanged?.(e.what);
        break;
    }
    this.opts.onEffect?.(e);
  }

  /** Close a stream on our own initiative and tell the core afterwards (never from inside its effect sink). */
  private abandon(id: number, s: Stream, message: string): void {
    this.streams.delete(id);
    s.close();
    queueMicrotask(() => {
      if (!this.stopped) this.router.streamClosed(id, { kind: 'error', message });
    });
  }

  private dial(id: number, address: string, timeoutMs: number): void {
    this.opts.transport.dial(address, { timeoutMs }).then(
      (s) => {
        if (this.stopped) {
          s.close();
          return;
        }
        this.attach(id, s);
        this.router.dialSucceeded(id, { remoteAddress: s.remoteAddress, localAddress: s.localAddress });
      },
      (e: unknown) => {
        if (this.stopped) return;
        const kind = e instanceof TransportError ? e.kind : 'other';
        this.router.dialFailed(id, { kind, message: (e as Error)?.message ?? String(e) });
      },
    );
  }
}
