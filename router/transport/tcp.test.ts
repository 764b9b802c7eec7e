import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { realWaitFor, runStreamCompliance } from '../../test/compliance/stream.js';
import type { Stream, StreamCloseReason, StreamListener } from './stream.js';
import { TransportError } from './stream.js';
import { splitHostPort, TcpTransport } from './tcp.js';

// The daemon's transport on loopback: the shared stream compliance suite
// (test/compliance/stream.ts, also run by the simulator's transport), then
// TCP-specific behaviour.

/**
 * A loopback address that never answers a SYN: a listener that never accepts
 * (python's listen(0); Node always accepts), with its accept queue filled, so
 * the kernel drops further SYNs (tcp_abort_on_overflow = 0) and a dial hangs
 * until its timeout. Nothing leaves the machine.
 */
class LoopbackBlackhole {
  private proc: ChildProcess | undefined;
  private fillers: net.Socket[] = [];
  address = '';

  async open(): Promise<void> {
    const script = [
      'import socket, sys, time',
      's = socket.socket()',
      "s.bind(('127.0.0.1', 0))",
      's.listen(0)',
      'print(s.getsockname()[1], flush=True)',
      'time.sleep(600)',
    ].join('\n');
    this.proc = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) =>
      this.proc!.stdout!.once('data', (d) => resolve(Number(String(d).trim()))),
    );
    this.address = `127.0.0.1:${port}`;
    for (let i = 0; i < 3; i++) {
      const f = net.connect(port, '127.0.0.1');
      f.on('error', () => {});
      this.fillers.push(f);
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  close(): void {
    for (const f of this.fillers) f.destroy();
    if (this.proc?.pid) process.kill(this.proc.pid, 'SIGKILL');
  }
}

const blackhole = new LoopbackBlackhole();
beforeAll(() => blackhole.open());
afterAll(() => blackhole.close());

runStreamCompliance('tcp (loopback)', async () => ({
  transport: new TcpTransport({ closeFlushMs: 500 }),
  listenAddress: () => '127.0.0.1:0',
  refusedAddress: '127.0.0.1:1',
  blackholeAddress: blackhole.address,
  waitFor: realWaitFor,
  teardown: async () => {},
}));

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
