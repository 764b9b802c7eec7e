import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Stream, StreamCloseReason, StreamListener } from './stream.js';
import { TransportError } from './stream.js';
import { splitHostPort, TcpTransport } from './tcp.js';

// TCP-specific behaviour of the daemon's transport on loopback. The shared
// stream compliance suite (test/compliance/stream.ts) runs in
// tcp.compliance.test.ts once it exists.

const transport = new TcpTransport({ closeFlushMs: 500 });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pair(): Promise<{ a: Stream; b: Stream; listener: StreamListener }> {
  let accept!: (s: Stream) => void;
  const accepted = new Promise<Stream>((r) => {
    accept = r;
  });
  const listener = await transport.listen('127.0.0.1:0', accept);
  cleanups.push(() => listener.close());
  const a = await transport.dial(listener.address);
  const b = await accepted;
  cleanups.push(() => {
    a.close();
    b.close();
  });
  return { a, b, listener };
}

function closed(s: Stream): Promise<StreamCloseReason> {
  return new Promise((r) => s.onClose(r));
}

function collect(s: Stream, n: number): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const parts: Uint8Array[] = [];
    let got = 0;
    s.onData((b) => {
      parts.push(Uint8Array.from(b));
      got += b.length;
      if (got >= n) resolve(Buffer.concat(parts));
    });
  });
}

describe('splitHostPort', () => {
  it('accepts host:port and [v6]:port and refuses the rest', () => {
    expect(splitHostPort('198.18.0.1:6783')).toEqual({ host: '198.18.0.1', port: 6783 });
    expect(splitHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(splitHostPort(':6783')).toEqual({ host: '', port: 6783 });
    for (const bad of ['198.18.0.1', '1.2.3.4:', '1.2.3.4:70000', '::1:80', 'a:b', '1.2.3.4:12a']) {
      expect(splitHostPort(bad), bad).toBeUndefined();
    }
  });
});

describe('TcpTransport on loopback', () => {
  it('listens on an ephemeral port and reports the real address', async () => {
    const { a, b, listener } = await pair();
    expect(listener.address).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
    expect(a.remoteAddress).toBe(listener.address);
    expect(b.localAddress).toBe(listener.address);
    expect(b.remoteAddress).toBe(a.localAddress);
  });

  it('delivers a megabyte in order in both directions', async () => {
    const { a, b } = await pair();
    const payload = new Uint8Array(1 << 20).map((_, i) => (i * 31 + 7) & 0xff);
    const atB = collect(b, payload.length);
    const atA = collect(a, payload.length);
    for (let i = 0; i < payload.length; i += 10_000) {
      expect(a.write(payload.subarray(i, i + 10_000))).toBe(true);
      expect(b.write(payload.subarray(i, i + 10_000))).toBe(true);
    }
    expect(Buffer.compare(await atB, payload)).toBe(0);
    expect(Buffer.compare(await atA, payload)).toBe(0);
  });

  it('bytes sent before the receiver subscribes are not lost', async () => {
    const { a, b } = await pair();
    a.write(new TextEncoder().encode('early'));
    await new Promise((r) => setTimeout(r, 50));
    expect(new TextDecoder().decode(await collect(b, 5))).toBe('early');
  });

  it('bufferedBytes grows while the peer does not read, and drains when it does', async () => {
    // A raw server that does not read, so the kernel buffers fill up.
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      s.pause();
      sockets.push(s);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    );
    const port = (server.address() as net.AddressInfo).port;
    const a = await transport.dial(`127.0.0.1:${port}`);
    cleanups.push(() => a.close());
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 200; i++) a.write(chunk); // 12.5 MiB, more than both kernel buffers
    await new Promise((r) => setTimeout(r, 100));
    const stuck = a.bufferedBytes;
    expect(stuck).toBeGreaterThan(1 << 20);
    for (const s of sockets) s.resume();
    const deadline = Date.now() + 10_000;
    while (a.bufferedBytes > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(a.bufferedBytes).toBe(0);
  });

  it('a local close reports local here and remote there, after flushing queued bytes', async () => {
    const { a, b } = await pair();
    const atB = collect(b, 3);
    const aClosed = closed(a);
    const bClosed = closed(b);
    a.write(Uint8Array.of(1, 2, 3));
    a.close();
    expect(await aClosed).toEqual({ kind: 'local' });
    expect([...(await atB)]).toEqual([1, 2, 3]);
    expect(await bClosed).toEqual({ kind: 'remote' });
  });

  it('onClose fires exactly once, even when registered after the close', async () => {
    const { a, b } = await pair();
    const seen: StreamCloseReason[] = [];
    a.onClose((r) => seen.push(r));
    a.close();
    a.close();
    await closed(b);
    const late = await closed(a);
    expect(late).toEqual({ kind: 'local' });
    expect(seen).toEqual([{ kind: 'local' }]);
  });

  it('write after close returns false and bufferedBytes is zero', async () => {
    const { a, b } = await pair();
    a.close();
    expect(a.write(Uint8Array.of(1))).toBe(false);
    expect(a.bufferedBytes).toBe(0);
    await closed(b);
    expect(b.write(Uint8Array.of(1))).toBe(false);
  });

  it('a reset from the other side is reported as an error', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const a = await transport.dial(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const aClosed = closed(a);
    while (sockets.length === 0) await new Promise((r) => setTimeout(r, 5));
    sockets[0]!.resetAndDestroy();
    const reason = await aClosed;
    expect(reason.kind).toBe('error');
  });

  it('dialing a closed port rejects with a refused TransportError', async () => {
    const listener = await transport.listen('127.0.0.1:0', () => {});
    const address = listener.address;
    await listener.close();
    const e = await transport.dial(address).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).kind).toBe('refused');
  });

  it('dialing a malformed address rejects without touching the network', async () => {
    const e = await transport.dial('no-port').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as TransportError).kind).toBe('other');
  });

  it('listening on a port in use rejects', async () => {
    const first = await transport.listen('127.0.0.1:0', () => {});
    cleanups.push(() => first.close());
    const e = await transport.listen(first.address, () => {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
  });

  it('closing the listener releases the port but keeps accepted streams open', async () => {
    const { a, b, listener } = await pair();
    await listener.close();
    const again = await transport.listen(listener.address, () => {});
    cleanups.push(() => again.close());
    const atB = collect(b, 2);
    expect(a.write(Uint8Array.of(9, 9))).toBe(true);
    expect([...(await atB)]).toEqual([9, 9]);
  });
});
