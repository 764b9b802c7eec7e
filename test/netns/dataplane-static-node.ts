/**
 * A sleeve engine with a static configuration, for measuring the engine on its
 * own (bench/throughput "sleeve-static" rows) before and apart from the
 * control plane. Run inside a host namespace with one JSON argument:
 *   { tap, self, port, offload, peers: [{ name, ip, port, sendKey?, recvKey? }] }
 * (keys hex; both present = encrypted). Prints "ready" once the TAP exists,
 * then runs until killed; prints the engine's counters on SIGTERM.
 */
import { sleeveKeyId } from '../../crypto/datagram.js';
import { loadSleeveAddon } from '../../router/dataplane/sleeve-native.js';

interface StaticPeer {
  name: string;
  ip: string;
  port: number;
  sendKey?: string;
  recvKey?: string;
}
const cfg = JSON.parse(process.argv[2] ?? '{}') as {
  tap: string;
  self: string;
  port: number;
  offload: number;
  noGso?: boolean;
  peers: StaticPeer[];
};
const addon = loadSleeveAddon();
const engine = new addon.SleeveEngine(
  { tap: cfg.tap, self: cfg.self, port: cfg.port, offload: cfg.offload, noGso: cfg.noGso },
  () => {
    engine.events();
  },
);
for (const p of cfg.peers) {
  const sendKey = p.sendKey ? new Uint8Array(Buffer.from(p.sendKey, 'hex')) : undefined;
  const recvKey = p.recvKey ? new Uint8Array(Buffer.from(p.recvKey, 'hex')) : undefined;
  engine.setPeer(p.name, {
    ip: p.ip,
    port: p.port,
    encrypted: sendKey !== undefined,
    ...(sendKey && recvKey
      ? { sendKey, recvKey, sendKeyId: sleeveKeyId(sendKey), recvKeyId: sleeveKeyId(recvKey) }
      : {}),
  });
}
engine.setRoutes(
  cfg.peers.map((p) => [p.name, p.name]),
  [[cfg.self, cfg.peers.map((p) => p.name)]],
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify(engine.stats())}\n`);
  engine.close();
  process.exit(0);
});
setInterval(() => {}, 1 << 30);
