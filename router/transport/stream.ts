/**
 * A reliable, ordered byte stream between two hosts: a TCP connection in the
 * daemon, an in-memory pipe with latency and partitions in the simulator. The
 * mesh's connection driver runs on top of this interface only, and both
 * implementations pass the same compliance suite (test/compliance/stream.ts).
 */
export interface Stream {
  /** "host:port" of the other end as seen by us. */
  readonly remoteAddress: string;
  /** "host:port" of our end. */
  readonly localAddress: string;
  /** Queue bytes for sending, in order. Returns false if the stream is closed (bytes dropped). */
  write(bytes: Uint8Array): boolean;
  /** Bytes queued but not yet accepted by the other end/kernel; used to bound memory. */
  readonly bufferedBytes: number;
  onData(cb: (bytes: Uint8Array) => void): void;
  /** Called exactly once, when either side closes or the stream fails. */
  onClose(cb: (reason: StreamCloseReason) => void): void;
  close(): void;
}

export type StreamCloseReason = { kind: 'local' } | { kind: 'remote' } | { kind: 'error'; message: string };

export interface StreamListener {
  readonly address: string;
  close(): Promise<void>;
}

export interface StreamTransport {
  /** Connect to "host:port". Rejects with a TransportError on refusal, unreachability or timeout. */
  dial(address: string, opts?: { timeoutMs?: number }): Promise<Stream>;
  listen(address: string, onStream: (s: Stream) => void): Promise<StreamListener>;
}

export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly kind: 'refused' | 'unreachable' | 'timeout' | 'closed' | 'other',
    message: string,
  ) {
    super(message);
  }
}
