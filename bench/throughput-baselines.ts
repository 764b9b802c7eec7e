/**
 * The two baselines of bench/throughput, set up by hand on the lab:
 * - raw kernel VXLAN with hand-made forwarding entries (the ceiling: what the
 *   kernel does with no control plane at all);
 * - tinc 1.0 in switch mode (a userspace encrypted mesh, the peer to beat),
 *   with its default cipher, as Debian ships it.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addBridge, addContainer, type Container } from '../test/netns/dataplane-topology.js';
import type { Lab } from '../test/netns/lab.js';

export interface ModeSetup {
  containers: Container[];
  /** Processes whose CPU time the bench reports (host-side daemons). */
  pids: number[];
  teardown(): Promise<void>;
}

const VXLAN_UNDERLAY_OVERHEAD = 50;

export async function setupRawVxlan(lab: Lab): Promise<ModeSetup> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const mtu = 1500 - VXLAN_UNDERLAY_OVERHEAD;
  const containers: Container[] = [];
  for (const h of [h1, h2]) {
    await addBridge(lab, h);
    await lab.ipIn(h.ns, [
      'link',
      'add',
      'vxlan-raw',
      'type',
      'vxlan',
      'id',
      '42',
      'local',
      h.ip,
      'dstport',
      '4789',
      'nolearning',
      'dev',
      'eth0',
    ]);
    await lab.ipIn(h.ns, ['link', 'set', 'vxlan-raw', 'master', 'weft', 'up']);
    containers.push(await addContainer(lab, h, 'weft', mtu));
  }
  for (const [h, other, c] of [
    [h1, h2, containers[1]!],
    [h2, h1, containers[0]!],
  ] as const) {
    // Broadcast (ARP) to the other host, and the remote container's MAC pinned to its VTEP.
    await lab.mustExec(h.ns, 'bridge', [
      'fdb',
      'append',
      '00:00:00:00:00:00',
      'dev',
      'vxlan-raw',
      'dst',
      other.ip,
    ]);
    await lab.mustExec(h.ns, 'bridge', ['fdb', 'add', c.mac, 'dev', 'vxlan-raw', 'dst', other.ip]);
    await lab.mustExec(h.ns, 'bridge', ['fdb', 'add', c.mac, 'dev', 'vxlan-raw', 'master', 'static']);
  }
  return { containers, pids: [], teardown: async () => {} };
}

export async function setupTinc(lab: Lab): Promise<ModeSetup> {
  const [h1, h2] = [lab.host(1), lab.host(2)];
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-tinc-'));
  const containers: Container[] = [];
  const names = ['h1', 'h2'];
  // tinc's own path MTU discovery handles the underlay; the TAP stays at 1500
  // like a default tinc install, and the containers use a size that fits.
  const mtu = 1500 - VXLAN_UNDERLAY_OVERHEAD;
  for (const [i, h] of [h1, h2].entries()) {
    const conf = join(dir, names[i]!);
    mkdirSync(join(conf, 'hosts'), { recursive: true });
    writeFileSync(
      join(conf, 'tinc.conf'),
      `Name = ${names[i]}\nMode = switch\nDeviceType = tap\nDevice = /dev/net/tun\nInterface = tinc0\nAddressFamily = ipv4\n${i === 0 ? '' : 'ConnectTo = h1\n'}`,
    );
    writeFileSync(join(conf, 'hosts', names[i]!), `Address = ${h.ip}\nPort = 655\n`);
    const up = join(conf, 'tinc-up');
    writeFileSync(up, '#!/bin/sh\nip link set "$INTERFACE" master weft up\n');
    chmodSync(up, 0o755);
    await lab.mustExec(h.ns, 'tincd', ['-c', conf, '-K', '2048'], { input: '\n\n', timeoutMs: 60_000 });
    await addBridge(lab, h);
    containers.push(await addContainer(lab, h, 'weft', mtu));
  }
  // Exchange host files (they now carry the public keys).
  for (const [i] of names.entries()) {
    const own = readFileSync(join(dir, names[i]!, 'hosts', names[i]!), 'utf8');
    writeFileSync(join(dir, names[1 - i]!, 'hosts', names[i]!), own);
  }
  const procs = [h1, h2].map((h, i) =>
    lab.spawn(h.ns, 'tincd', ['-c', join(dir, names[i]!), '-D', '--pidfile', join(dir, `${names[i]}.pid`)]),
  );
  return {
    containers,
    pids: procs.map((p) => p.pid ?? 0),
    teardown: async () => {
      for (const p of procs) await lab.kill(p, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
