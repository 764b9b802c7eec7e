/**
 * A stand-in router for data-plane tests: the real WeftOverlay (devices,
 * native engine, fastdp, path selection) on a host namespace, driven by a
 * tiny fake mesh instead of the real one:
 *
 *  - one TCP connection per peer pair (the lower index dials) carries the
 *    overlay control messages, like the mesh's OverlayControl;
 *  - with a password, a fake MeshSession gives both ends mirrored keys
 *    (SHA-256 of password, label and direction), so the sleeve is sealed
 *    exactly as with a real Noise session;
 *  - routes are breadth-first over a static list of links (the test says
 *    which underlay links it blocked), like the mesh's data routes.
 *
 * Run in a host namespace with one JSON argument (HarnessConfig). Prints JSON
 * lines on stdout: {"event":...} on overlay events and {"report":...} every
 * 300 ms. SIGTERM stops the overlay (devices stay unless config.resetOnExit).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { systemClock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import { WeftOverlay } from '../../router/dataplane/overlay.js';
import { openNetlinkKernel } from '../../router/kernel/netlink-kernel.js';
import type { PeerName } from '../../router/mesh/gossip-api.js';
import type { MeshRoutes, OverlayConnection } from '../../router/mesh/overlay-api.js';
import { fakeSession } from './dataplane-fake-session.js';

export interface HarnessPeer {
  index: number;
  name: PeerName;
  ip: string;
}

export interface HarnessConfig {
  index: number;
  peers: HarnessPeer[];
  /** Underlay links routes may use, as host index pairs. */
  links: [number, number][];
  password?: string;
  fastdp: boolean;
  mtu?: number;
  meshPort?: number;
  controlPort?: number;
  resetOnExit?: boolean;
  tuning?: Record<string, number>;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as HarnessConfig;
const me = cfg.peers.find((p) => p.index === cfg.index)!;
const byName = new Map(cfg.peers.map((p) => [p.name, p]));
const controlPort = cfg.controlPort ?? 7000;

function out(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}

const logger: Logger = {
  trace: () => {},
  debug: () => {},
  info: (o, m) => out({ log: 'info', msg: m, ...o }),
  warn: (o, m) => out({ log: 'warn', msg: m, ...o }),
  error: (o, m) => out({ log: 'error', msg: m, ...o }),
  child: () => logger,
};

/** BFS routes over the static links, ties broken by peer name (as the mesh does). */
function staticRoutes(): MeshRoutes {
  const adj = new Map<number, number[]>();
  for (const p of cfg.peers) adj.set(p.index, []);
  for (const [a, b] of cfg.links) {
    adj.get(a)?.push(b);
    adj.get(b)?.push(a);
  }
  const nameOf = (i: number) => cfg.peers.find((p) => p.index === i)!.name;
  for (const l of adj.values()) l.sort((x, y) => nameOf(x).localeCompare(nameOf(y)));
  const bfs = (root: number) => {
    const parent = new Map<number, number>([[root, root]]);
    const queue = [root];
    while (queue.length) {
      const x = queue.shift()!;
      for (const y of adj.get(x) ?? []) {
        if (!parent.has(y)) {
          parent.set(y, x);
          queue.push(y);
        }
      }
    }
    return parent;
  };
  return {
    unicastNextHop(dst) {
      const d = byName.get(dst);
      if (!d) return undefined;
      const parent = bfs(cfg.index);
      if (!parent.has(d.index) || d.index === cfg.index) return undefined;
      let x = d.index;
      while (parent.get(x) !== cfg.index) x = parent.get(x)!;
      return nameOf(x);
    },
    broadcastNextHops(src) {
      const s = byName.get(src);
      if (!s) return [];
      const parent = bfs(s.index);
      return [...parent.entries()]
        .filter(([c, p]) => p === cfg.index && c !== cfg.index)
        .map(([c]) => nameOf(c));
    },
  };
}

const kernel = openNetlinkKernel();
const overlay = new WeftOverlay({
  self: me.name,
  meshPort: cfg.meshPort ?? 6783,
  fastdp: cfg.fastdp,
  ...(cfg.mtu ? { mtu: cfg.mtu } : {}),
  kernel,
  clock: systemClock,
  logger,
  ...(cfg.tuning ? { tuning: cfg.tuning } : {}),
});

interface Link {
  socket: Socket;
  conn?: OverlayConnection;
  peer?: HarnessPeer;
}
const links = new Set<Link>();

function frame(type: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + payload.length);
  b.writeUInt32BE(1 + payload.length, 0);
  b[4] = type;
  b.set(payload, 5);
  return b;
}

function attach(socket: Socket, outbound: HarnessPeer | undefined): void {
  const link: Link = { socket };
  links.add(link);
  socket.setNoDelay(true);
  socket.write(frame(1, Buffer.from(me.name)));
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      const type = buf[4];
      const payload = new Uint8Array(buf.subarray(5, 4 + len));
      buf = buf.subarray(4 + len);
      if (type === 1) {
        const peer = byName.get(Buffer.from(payload).toString());
        if (!peer) return socket.destroy();
        link.peer = peer;
        link.conn = overlay.prepareConnection(
          {
            local: me.name,
            remote: peer.name,
            remoteIp: peer.ip,
            remoteMeshPort: cfg.meshPort ?? 6783,
            outbound: outbound !== undefined,
            session: cfg.password ? fakeSession(cfg.password, me.name, peer.name) : null,
            sendControl: (msg) => {
              if (!socket.destroyed) socket.write(frame(2, msg));
            },
          },
          {
            established: () => out({ event: 'established', peer: peer.name }),
            failed: (reason) => {
              out({ event: 'failed', peer: peer.name, reason });
              socket.destroy();
            },
            changed: () => out({ event: 'changed', peer: peer.name }),
          },
        );
      } else if (type === 2) {
        link.conn?.onControl(payload);
      }
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    links.delete(link);
    link.conn?.close();
    if (link.peer) out({ event: 'closed', peer: link.peer.name });
    if (outbound && !stopping) setTimeout(() => dial(outbound), 1000);
  });
}

function dial(peer: HarnessPeer): void {
  if (stopping) return;
  const s = connect({ host: peer.ip, port: controlPort, localAddress: me.ip });
  s.once('connect', () => attach(s, peer));
  s.once('error', () => {
    s.destroy();
    setTimeout(() => dial(peer), 1000);
  });
}

let stopping = false;
let server: Server | undefined;

async function main(): Promise<void> {
  await overlay.start();
  overlay.routesChanged(staticRoutes());
  server = createServer((s) => attach(s, undefined));
  await new Promise<void>((r) => server!.listen(controlPort, me.ip, r));
  for (const p of cfg.peers) if (p.index > cfg.index) dial(p);
  out({ event: 'ready', mtu: overlay.mtu, devices: overlay.names });
  setInterval(() => out({ report: overlay.report(), stats: overlay.stats() }), 300).unref();
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  server?.close();
  for (const l of links) l.socket.destroy();
  await overlay.stop({ reset: cfg.resetOnExit === true });
  kernel.close();
  process.exit(0);
}

process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
setInterval(() => {}, 1 << 30);
main().catch((e) => {
  out({ event: 'fatal', error: String((e as Error).stack ?? e) });
  process.exit(1);
});
