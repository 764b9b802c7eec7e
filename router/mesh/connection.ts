/**
 * One mesh connection's protocol state machine, pure: it turns bytes in into
 * bytes out, timers and decisions for its owner (the MeshRouter), and never
 * touches a socket, clock or random source itself.
 *
 *            start()                      both intros in, versions and
 *   ┌──────┐ sends intro ┌───────┐        encryption agree, password set
 *   │ new  │────────────►│ intro │──────────────────────┐
 *   └──────┘             └───┬───┘                      ▼
 *                 no password│                   ┌────────────┐
 *                            │   ┌──────────────┤ handshake  │ Noise NNpsk0
 *                            ▼   ▼  session     └─────┬──────┘
 *                        ┌─────────┐                  │ auth failed / junk
 *                        │  hello  │ send Hello,      ▼
 *                        └────┬────┘ await theirs  ┌────────┐
 *              host accepts   │  host refuses ────►│ closed │◄── timeout, refusal,
 *                             ▼                    └────────┘    stream closed,
 *                       ┌──────────┐ overlay says      ▲          protocol error
 *                       │ prepared │──established──┐   │
 *                       └──────────┘               ▼   │
 *                                          ┌─────────────┐
 *                                          │ established │
 *                                          └─────────────┘
 *
 * Timers: the whole setup (intro → hello) has `setupTimeoutMs`; afterwards a
 * heartbeat goes out every `heartbeatIntervalMs` and the connection closes
 * if nothing arrives for `readDeadlineMs` (checked lazily: the deadline timer
 * re-arms itself from the time of the last frame instead of being reset on
 * every frame).
 *
 * Refusals: whoever detects a problem it can explain (version, encryption
 * flag, name collision, limit, duplicate) sends a Refuse with the reason
 * before closing, so both sides log it. A password mismatch is the exception:
 * the crypto layer answers a bad first handshake message with a decoy, so both
 * sides fail authentication and log it themselves, and no unauthenticated
 * "rejected" message exists that an attacker could forge.
 */
import type { Logger } from '../../common/logger.js';
import type { Random } from '../../common/random.js';
import type { HandshakeOptions, MeshHandshake, MeshSession } from '../../crypto/contracts.js';
import { createHandshake, handshakePrologue } from '../../crypto/handshake.js';
import type { StreamCloseReason } from '../transport/stream.js';
import type { DecodeError } from '../wire/errors.js';
import { encodeFrame, FrameReader, MAX_FRAME_BYTES, MAX_PREAUTH_FRAME_BYTES } from '../wire/framing.js';
import { decodeIntro, encodeIntro, INTRO_BYTES, type Intro, negotiate } from '../wire/intro.js';
import {
  decodeMessage,
  encodeMessage,
  type Hello,
  type Message,
  type RefuseReason,
} from '../wire/messages.js';
import { MessageTag } from '../wire/tags.js';

export type ConnectionState = 'new' | 'intro' | 'handshake' | 'hello' | 'prepared' | 'established' | 'closed';

/** Why a connection ended, for logs, reports and the connection maker's retry decision. */
export type CloseCause =
  | { kind: 'refused-by-us'; reason: RefuseReason; message: string }
  | { kind: 'refused-by-peer'; reason: RefuseReason; message: string }
  | { kind: 'auth-failed'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'protocol'; message: string }
  | { kind: 'stream'; reason: StreamCloseReason }
  | { kind: 'local'; message: string };

export type HelloDecision = { accept: true } | { accept: false; reason: RefuseReason; message: string };

/** What a connection needs from its owner. All calls are synchronous. */
export interface ConnectionHost {
  write(conn: MeshConnection, bytes: Uint8Array): void;
  closeStream(conn: MeshConnection): void;
  setTimer(key: string, delayMs: number): void;
  cancelTimer(key: string): void;
  now(): number;
  /** The peer told us who it is; the owner checks collisions, duplicates and limits. */
  helloReceived(conn: MeshConnection, hello: Hello): HelloDecision;
  /** A message after the hello (gossip, overlay control). */
  message(conn: MeshConnection, msg: Message): void;
  /** Called exactly once, after the stream was asked to close. */
  closed(conn: MeshConnection, cause: CloseCause): void;
}

export interface ConnectionParams {
  id: number;
  outbound: boolean;
  /** The stream's remote address as the transport reports it ("ip:port"). */
  remoteAddress: string;
  /** For outbound connections: the target address we dialled. */
  target?: string;
  intro: Intro;
  /** 32-byte pre-shared key from the password, or null (no encryption). */
  psk: Uint8Array | null;
  /** Our hello (connId is per connection). */
  hello: Hello;
  random: Random;
  logger: Logger;
  timing: { setupTimeoutMs: number; heartbeatIntervalMs: number; readDeadlineMs: number };
  /** Overridable for tests; defaults to crypto/handshake.ts. */
  createHandshake?: (opts: HandshakeOptions) => MeshHandshake;
}

/** Per message object: its body, and its frame for unencrypted connections (shared by every neighbour it goes to). */
const encodedMessages = new WeakMap<Message, { body: Uint8Array; frame?: Uint8Array }>();

export class MeshConnection {
  readonly id: number;
  readonly outbound: boolean;
  readonly remoteAddress: string;
  readonly target: string | undefined;
  readonly ourHello: Hello;
  state: ConnectionState = 'new';
  /** Negotiated protocol version, once intros are in. */
  version = 0;
  /** The peer's hello, once received. */
  remote: Hello | null = null;
  /** Why it closed, once closed. */
  cause: CloseCause | null = null;
  /** When the stream opened and when the hello completed (0 = not yet). */
  readonly openedAt: number;
  helloAt = 0;
  bytesIn = 0;
  bytesOut = 0;

  /** Small frames only until the peer's hello is accepted (an unauthenticated peer cannot make us buffer 8 MiB). */
  private readonly reader = new FrameReader(MAX_PREAUTH_FRAME_BYTES);
  private readonly ourIntroBytes: Uint8Array;
  private theirIntroBytes: Uint8Array | null = null;
  private handshake: MeshHandshake | null = null;
  private session: MeshSession | null = null;
  private lastReceived: number;
  private readonly log: Logger;

  constructor(
    private readonly host: ConnectionHost,
    private readonly p: ConnectionParams,
  ) {
    this.id = p.id;
    this.outbound = p.outbound;
    this.remoteAddress = p.remoteAddress;
    this.target = p.target;
    this.ourHello = p.hello;
    this.ourIntroBytes = encodeIntro(p.intro);
    this.openedAt = host.now();
    this.lastReceived = this.openedAt;
    this.log = p.logger.child({ conn: p.id, remote: p.remoteAddress, outbound: p.outbound });
  }

  get encrypted(): boolean {
    return this.session !== null;
  }

  /** The Noise session (for the overlay), or null without a password. */
  get meshSession(): MeshSession | null {
    return this.session;
  }

  get isOpen(): boolean {
    return this.state !== 'closed';
  }

  /** The connection's id on both sides: XOR of both random halves (0 before the hello). */
  get uid(): bigint {
    return this.remote ? this.ourHello.connId ^ this.remote.connId : 0n;
  }

  private timerKey(which: 'deadline' | 'heartbeat'): string {
    return `conn:${this.id}:${which}`;
  }

  start(): void {
    if (this.state !== 'new') return;
    this.state = 'intro';
    this.writeRaw(this.ourIntroBytes);
    this.host.setTimer(this.timerKey('deadline'), this.p.timing.setupTimeoutMs);
  }

  /** Bytes from the stream. */
  receive(bytes: Uint8Array): void {
    if (this.state === 'closed' || this.state === 'new') return;
    this.bytesIn += bytes.length;
    this.lastReceived = this.host.now();
    this.reader.push(bytes);
    if (this.state === 'intro' && !this.receiveIntro()) return;
    for (;;) {
      if (!this.isOpen) return;
      const f = this.reader.next();
      if (!f.ok) {
        this.protocolError(f.error);
        return;
      }
      if (f.value === null) return;
      this.receiveFrame(f.value);
    }
  }

  /** A timer this connection set has fired. Returns false if the key is not ours. */
  timer(key: string): boolean {
    if (key === this.timerKey('deadline')) {
      this.deadlineFired();
      return true;
    }
    if (key === this.timerKey('heartbeat')) {
      if (!this.isOpen) return true;
      this.send({ tag: MessageTag.Heartbeat });
      this.host.setTimer(this.timerKey('heartbeat'), this.p.timing.heartbeatIntervalMs);
      return true;
    }
    return false;
  }

  /** Send a message (after the hello). Returns false if the connection is not up. */
  send(msg: Message): boolean {
    if (this.state !== 'prepared' && this.state !== 'established') return false;
    let e = encodedMessages.get(msg);
    if (!e) {
      e = { body: encodeMessage(msg) };
      encodedMessages.set(msg, e);
    }
    if (this.session || e.body.length > MAX_FRAME_BYTES) {
      this.writeFrame(e.body);
    } else {
      e.frame ??= encodeFrame(e.body);
      this.writeRaw(e.frame);
    }
    return true;
  }

  /** The owner registered this connection (after accepting the hello). */
  markPrepared(): void {
    if (this.state === 'hello') this.state = 'prepared';
  }

  markEstablished(): void {
    if (this.state === 'prepared') this.state = 'established';
  }

  /** Refuse and close: send the reason (if the peer can read it) and close the stream. */
  refuse(reason: RefuseReason, message: string): void {
    if (!this.isOpen) return;
    if (this.state !== 'new') this.writeFrame(encodeMessage({ tag: MessageTag.Refuse, reason, message }));
    this.finish({ kind: 'refused-by-us', reason, message });
  }

  /** Close without a message to the peer (the stream went away, or the owner shuts down). */
  close(cause: CloseCause): void {
    if (!this.isOpen) return;
    this.finish(cause);
  }

  // ---- receiving ----

  private receiveIntro(): boolean {
    const bytes = this.reader.take(INTRO_BYTES);
    if (bytes === null) return false;
    this.theirIntroBytes = Uint8Array.from(bytes);
    const theirs = decodeIntro(this.theirIntroBytes);
    if (!theirs.ok) {
      // Not a weft peer (or garbage): nothing it could read, so just close.
      this.log.warn({ error: theirs.error.message }, 'mesh connection: bad intro');
      this.finish({ kind: 'protocol', message: theirs.error.message });
      return false;
    }
    const agreed = negotiate(this.p.intro, theirs.value);
    if (!agreed.ok) {
      const reason: RefuseReason =
        agreed.error.kind === 'version'
          ? 'version'
          : agreed.error.kind === 'peer-unencrypted'
            ? 'encryption-required'
            : 'encryption-unsupported';
      this.log.error({ reason }, `mesh connection refused: ${agreed.error.message}`);
      this.writeFrame(encodeMessage({ tag: MessageTag.Refuse, reason, message: agreed.error.message }));
      this.finish({ kind: 'refused-by-us', reason, message: agreed.error.message });
      return false;
    }
    this.version = agreed.value.version;
    if (this.p.psk) {
      this.state = 'handshake';
      const initiatorIntro = this.outbound ? this.ourIntroBytes : this.theirIntroBytes;
      const responderIntro = this.outbound ? this.theirIntroBytes : this.ourIntroBytes;
      const make = this.p.createHandshake ?? createHandshake;
      this.handshake = make({
        initiator: this.outbound,
        psk: this.p.psk,
        prologue: handshakePrologue(initiatorIntro, responderIntro),
        random: this.p.random,
      });
      const first = this.handshake.next();
      if (first) this.writeFrame(encodeMessage({ tag: MessageTag.Handshake, payload: first }));
    } else {
      this.sendHello();
    }
    return true;
  }

  private receiveFrame(frame: Uint8Array): void {
    let body = frame;
    if (this.session) {
      const opened = this.session.opener.open(frame);
      if (!opened.ok) {
        const message = `sealed frame failed to open (${opened.error.kind})`;
        this.log.error({}, `mesh connection: ${message}`);
        this.finish({ kind: 'protocol', message });
        return;
      }
      body = opened.value;
    }
    const m = decodeMessage(body, MAX_FRAME_BYTES);
    if (!m.ok) {
      this.protocolError(m.error);
      return;
    }
    const msg = m.value;
    if (msg.tag === MessageTag.Refuse) {
      const logFn = msg.reason === 'duplicate' || msg.reason === 'shutdown' ? 'info' : 'error';
      this.log[logFn]({ reason: msg.reason }, `mesh connection refused by peer: ${msg.message}`);
      this.finish({ kind: 'refused-by-peer', reason: msg.reason, message: msg.message });
      return;
    }
    switch (this.state) {
      case 'handshake':
        if (msg.tag !== MessageTag.Handshake) this.unexpected(msg.tag);
        else this.receiveHandshake(msg.payload);
        return;
      case 'hello':
        if (msg.tag !== MessageTag.Hello) this.unexpected(msg.tag);
        else this.receiveHello(msg.hello);
        return;
      case 'prepared':
      case 'established':
        if (msg.tag === MessageTag.Heartbeat) return;
        if (msg.tag === MessageTag.Hello || msg.tag === MessageTag.Handshake) this.unexpected(msg.tag);
        else this.host.message(this, msg);
        return;
      default:
        return;
    }
  }

  private receiveHandshake(payload: Uint8Array): void {
    const hs = this.handshake!;
    const r = hs.receive(payload);
    if (!r.ok) {
      // On a failed first message the crypto layer hands us a decoy reply: send it,
      // so the initiator fails authentication too and logs the mismatch itself.
      const decoy = hs.next();
      if (decoy) this.writeFrame(encodeMessage({ tag: MessageTag.Handshake, payload: decoy }));
      const message =
        r.error.kind === 'auth-failed'
          ? 'handshake failed: the peer uses a different password (or the handshake was tampered with)'
          : `handshake failed: ${r.error.message}`;
      this.log.error({ kind: r.error.kind }, `mesh connection refused: ${message}`);
      this.finish({ kind: 'auth-failed', message });
      return;
    }
    const reply = hs.next();
    if (reply) this.writeFrame(encodeMessage({ tag: MessageTag.Handshake, payload: reply }));
    if (hs.done) {
      this.session = hs.session();
      this.handshake = null;
      this.sendHello();
    }
  }

  private sendHello(): void {
    this.state = 'hello';
    this.writeFrame(encodeMessage({ tag: MessageTag.Hello, hello: this.ourHello }));
  }

  private receiveHello(hello: Hello): void {
    this.remote = hello;
    this.helloAt = this.host.now();
    const d = this.host.helloReceived(this, hello);
    if (!this.isOpen) return;
    if (!d.accept) {
      this.refuse(d.reason, d.message);
      return;
    }
    this.reader.setLimit(MAX_FRAME_BYTES);
    this.host.cancelTimer(this.timerKey('deadline'));
    this.host.setTimer(this.timerKey('deadline'), this.p.timing.readDeadlineMs);
    this.host.setTimer(this.timerKey('heartbeat'), this.p.timing.heartbeatIntervalMs);
  }

  private deadlineFired(): void {
    if (!this.isOpen) return;
    if (this.state !== 'prepared' && this.state !== 'established') {
      const message = `connection setup did not finish within ${this.p.timing.setupTimeoutMs} ms (stuck in ${this.state})`;
      this.log.warn({}, `mesh connection: ${message}`);
      this.refuse('timeout', message);
      return;
    }
    const idle = this.host.now() - this.lastReceived;
    if (idle >= this.p.timing.readDeadlineMs) {
      const message = `nothing received for ${idle} ms`;
      this.log.warn({}, `mesh connection: ${message}`);
      this.finish({ kind: 'timeout', message });
      return;
    }
    this.host.setTimer(this.timerKey('deadline'), this.p.timing.readDeadlineMs - idle);
  }

  private unexpected(tag: MessageTag): void {
    this.protocolError({
      kind: 'bad-field',
      message: `unexpected ${MessageTag[tag]} in state ${this.state}`,
    });
  }

  private protocolError(e: DecodeError): void {
    this.log.error({ kind: e.kind }, `mesh connection: protocol error: ${e.message}`);
    this.writeFrame(encodeMessage({ tag: MessageTag.Refuse, reason: 'protocol', message: e.message }));
    this.finish({ kind: 'protocol', message: e.message });
  }

  // ---- sending ----

  private writeRaw(bytes: Uint8Array): void {
    this.bytesOut += bytes.length;
    this.host.write(this, bytes);
  }

  private writeFrame(body: Uint8Array): void {
    if (this.state === 'closed') return;
    const sealed = this.session ? this.session.sealer.seal(body) : body;
    if (sealed.length > MAX_FRAME_BYTES) {
      this.log.error({ bytes: sealed.length }, 'mesh connection: message too large to send, dropped');
      return;
    }
    this.writeRaw(encodeFrame(sealed));
  }

  private finish(cause: CloseCause): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cause = cause;
    this.host.cancelTimer(this.timerKey('deadline'));
    this.host.cancelTimer(this.timerKey('heartbeat'));
    if (cause.kind !== 'stream') this.host.closeStream(this);
    this.host.closed(this, cause);
  }
}
