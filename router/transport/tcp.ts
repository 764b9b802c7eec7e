/**
 * The daemon's `StreamTransport`: TCP over node:net.
 *
 * Close semantics (router/transport/stream.ts): `onClose` fires exactly once.
 * A local `close()` reports `local` at once, then flushes what is queued and
 * sends FIN (destroying the socket if the flush takes longer than
 * `closeFlushMs`, so a stuck peer cannot pin memory). The other end sees
 * `remote` on FIN or reset-after-FIN, `error` on a reset or any socket error.
 * Bytes arriving after our `close()` are dropped; writes after close return
 * false.
 */
import net from 'node:net';
import { type Logger, nullLogger } from '../../common/logger.js';
import type { Stream, StreamCloseReason, StreamListener, StreamTransport } from './stream.js';
import { TransportError } from './stream.js';

export interface TcpTransportOptions {
  /** Default dial timeout when the caller gives none. */
  dialTimeoutMs?: number;
  /** How long a locally closed stream may take to flush before it is destroyed. */
  closeFlushMs?: number;
  /** TCP keep-alive probe delay; dead peers are found by the mesh's heartbeats too. */
  keepAliveMs?: number;
  /** Where errors that belong to no stream go (a failed accept on the listener). */
  logger?: Logger;
}

const DEFAULTS = { dialTimeoutMs: 10_000, closeFlushMs: 5_000, keepAliveMs: 30_000 };

/** Split "host:port" or "[v6]:port". Returns undefined for anything else. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function socketAddress(host: string | undefined, port: number | undefined): string {
  return joinHostPort(host ?? '', port ?? 0);
}

/** Map a node:net error to the transport's error kinds. */
export function classifySocketError(e: NodeJS.ErrnoException): TransportError['kind'] {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'closed';
    default:
      return 'other';
  }
}

/** A short human reason for a failed dial, e.g. "connection refused (ECONNREFUSED)". */
function describeDialError(e: NodeJS.ErrnoException): string {
  const text: Record<string, string> = {
    refused: 'connection refused',
    unreachable: 'host unreachable',
    timeout: 'timed out',
    closed: 'connection reset',
  };
  const kind = classifySocketError(e);
  return kind in text ? `${text[kind]}${e.code ? ` (${e.code})` : ''}` : e.message;
}

class TcpStream implements Stream {
  readonly remoteAddress: string;
  readonly localAddress: string;
  private closed: StreamCloseReason | undefined;
  private closeCbs: ((r: StreamCloseReason) => void)[] = [];
  private dataCb: ((b: Uint8Array) => void) | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: typeof DEFAULTS,
  ) {
    this.remoteAddress = socketAddress(socket.remoteAddress, socket.remotePort);
    this.localAddress = socketAddress(socket.localAddress, socket.localPort);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, opts.keepAliveMs);
    // 'error' is always followed by 'close'; remember the cause for it.
    let failure: Error | undefined;
    socket.on('error', (e) => {
      failure = e;
    });
    socket.on('end', () => {
      // The remote half-closed. We never keep a half-open mesh connection.
      this.finish({ kind: 'remote' });
      socket.end();
    });
    socket.on('close', () => {
      if (failure && (failure as NodeJS.ErrnoException).code !== 'EPIPE') {
        this.finish({ kind: 'error', message: failure.message });
      } else {
        this.finish({ kind: 'remote' });
      }
    });
  }

  get bufferedBytes(): number {
    return this.closed ? 0 : this.socket.writableLength;
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return false;
    this.socket.write(bytes);
    return true;
  }

  onData(cb: (bytes: Uint8Array) => void): void {
    const first = this.dataCb === undefined;
    this.dataCb = cb;
    // Attaching the listener starts the flow; until then the socket buffers.
    if (first) {
      this.socket.on('data', (chunk: Buffer) => {
        if (!this.closed) this.dataCb?.(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      });
    }
  }

  onClose(cb: (reason: StreamCloseReason) => void): void {
    if (this.closed) {
      const reason = this.closed;
      queueMicrotask(() => cb(reason));
    } else {
      this.closeCbs.push(cb);
    }
  }

  close(): void {
    if (this.closed) return;
    this.finish({ kind: 'local' });
    if (this.socket.destroyed) return;
    const timer = setTimeout(() => this.socket.destroy(), this.opts.closeFlushMs);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
    this.socket.end();
  }

  private finish(reason: StreamCloseReason): void {
    if (this.closed) return;
    this.closed = reason;
    const cbs = this.closeCbs;
    this.closeCbs = [];
    for (const cb of cbs) cb(reason);
    if (reason.kind !== 'local' && !this.socket.destroyed) {
      // Nothing more will be read; release the socket once our FIN is out.
      const timer = setTimeout(() => this.socket.destroy(), this.opts.closeFlushMs);
      timer.unref();
      this.socket.once('close', () => clearTimeout(timer));
    }
  }
}

export class TcpTransport implements StreamTransport {
  private readonly opts: typeof DEFAULTS;
  private readonly log: Logger;

  constructor(opts: TcpTransportOptions = {}) {
    const { logger, ...rest } = opts;
    this.opts = { ...DEFAULTS, ...rest };
    this.log = logger ?? nullLogger;
  }

  dial(address: string, opts: { timeoutMs?: number } = {}): Promise<Stream> {
    const hp = splitHostPort(address);
    if (!hp || hp.host === '') {
      return Promise.reject(
        new TransportError('other', `not a host:port address: ${JSON.stringify(address)}`),
      );
    }
    const timeoutMs = opts.timeoutMs ?? this.opts.dialTimeoutMs;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: hp.host, port: hp.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TransportError('timeout', `${address}: timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new TransportError(classifySocketError(e), `${address}: ${describeDialError(e)}`));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new TcpStream(socket, this.opts));
      });
    });
  }

  listen(address: string, onStream: (s: Stream) => void): Promise<StreamListener> {
    const hp = splitHostPort(address);
    if (!hp)
      return Promise.reject(
        new TransportError('other', `not a host:port address: ${JSON.stringify(address)}`),
      );
    const server = net.createServer({ noDelay: true }, (socket) => {
      // A socket reset before we saw it has no addresses; drop it quietly.
      if (socket.remoteAddress === undefined) {
        socket.destroy();
        return;
      }
      onStream(new TcpStream(socket, this.opts));
    });
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        reject(new TransportError(classifySocketError(e), `listening on ${address}: ${e.message}`));
      });
      server.listen({ host: hp.host === '' ? undefined : hp.host, port: hp.port }, () => {
        // From now on an error is a failed accept (EMFILE, ENFILE): the
        // listener keeps going; without this handler it would crash the process.
        server.on('error', (e) => this.log.warn({ err: e.message, address }, 'tcp: accept failed'));
        const a = server.address() as net.AddressInfo;
        resolve({
          address: joinHostPort(a.address, a.port),
          // Closing the listener stops new connections at once (the port is
          // released); streams already accepted belong to the mesh, which
          // closes them itself, so we do not wait for them as server.close's
          // callback would.
          close: () =>
            new Promise<void>((res) => {
              server.close();
              setImmediate(res);
            }),
        });
      });
    });
  }
}
