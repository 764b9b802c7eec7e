/**
 * The data-plane test and bench topology on top of a netns Lab: in every
 * host a bridge (the one weft owns, or a stand-in for baselines) and one
 * "container" namespace attached to it by a veth, with an overlay address.
 *
 *   host hN (ns)                       container cN (ns)
 *   ┌───────────────────────────┐      ┌──────────────────────┐
 *   │ eth0 198.18.0.N (underlay)│      │ eth0 10.32.0.N/12    │
 *   │ bridge ─── vethcN ────────┼──────┤ (MAC 02:00:0a:20:00:N)│
 *   │   ├── TAP (sleeve) / VXLAN / tinc port                   │
 *   └───────────────────────────┘      └──────────────────────┘
 *
 * Set-up uses `ip` (this is test scaffolding, not product code); the data
 * plane under test programs its own devices through netlink.
 */
import type { Host, Lab } from './lab.js';

export interface Container {
  readonly host: Host;
  readonly ns: string;
  readonly ip: string;
  readonly mac: string;
}

export const OVERLAY_PREFIX = 12;

export function containerIp(i: number): string {
  return `10.32.0.${i}`;
}

export function containerMac(i: number): string {
  return `02:00:0a:20:00:${i.toString(16).padStart(2, '0')}`;
}

/** Attach a container namespace to bridge `bridge` in host h (which must exist). */
export async function addContainer(
  lab: Lab,
  h: Host,
  bridge: string,
  mtu: number,
  index = h.index,
): Promise<Container> {
  const ns = await lab.addNamespace(`c${index}`);
  const hostSide = `vethc${index}`;
  await lab.ipIn(h.ns, [
    'link',
    'add',
    hostSide,
    'mtu',
    String(mtu),
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    ns,
  ]);
  await lab.ipIn(h.ns, ['link', 'set', hostSide, 'master', bridge, 'up']);
  await lab.ipIn(ns, ['link', 'set', 'eth0', 'address', containerMac(index), 'mtu', String(mtu), 'up']);
  await lab.ipIn(ns, ['addr', 'add', `${containerIp(index)}/${OVERLAY_PREFIX}`, 'dev', 'eth0']);
  return { host: h, ns, ip: containerIp(index), mac: containerMac(index) };
}

/** A plain bridge for the baselines (the weft modes let the data plane create its own). */
export async function addBridge(lab: Lab, h: Host, name = 'weft'): Promise<void> {
  await lab.ipIn(h.ns, ['link', 'add', 'name', name, 'type', 'bridge']);
  await lab.ipIn(h.ns, ['link', 'set', name, 'up']);
}

export interface PingResult {
  ok: boolean;
  sent: number;
  received: number;
  avgMs?: number;
}

export async function ping(
  lab: Lab,
  from: string,
  to: string,
  opts: { count?: number; intervalS?: number; timeoutS?: number; size?: number } = {},
): Promise<PingResult> {
  const count = opts.count ?? 3;
  const args = ['-c', String(count), '-i', String(opts.intervalS ?? 0.2), '-W', String(opts.timeoutS ?? 1)];
  if (opts.size !== undefined) args.push('-s', String(opts.size));
  const r = await lab.exec(from, 'ping', [...args, to], { timeoutMs: 60_000 });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  const sent = m ? Number(m[1]) : count;
  const received = m ? Number(m[2]) : 0;
  return { ok: received > 0, sent, received, ...(rtt ? { avgMs: Number(rtt[1]) } : {}) };
}

/** Wait until `from` can ping `to` (ARP and paths settle), or throw after `timeoutMs`. */
export async function waitPing(lab: Lab, from: string, to: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await ping(lab, from, to, { count: 1, timeoutS: 1 });
    if (r.ok) return;
    if (Date.now() > end) throw new Error(`no ping from ${from} to ${to} within ${timeoutMs} ms`);
  }
}

export interface IperfResult {
  gbps: number;
  retransmits?: number;
}

/** iperf3 TCP from container `from` to container `to` for `seconds`. */
export async function iperf(
  lab: Lab,
  from: Container,
  to: Container,
  seconds: number,
  extra: string[] = [],
): Promise<IperfResult> {
  const server = lab.spawn(to.ns, 'iperf3', ['-s', '-1']);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await lab.exec(from.ns, 'iperf3', ['-c', to.ip, '-t', String(seconds), '-J', ...extra], {
      timeoutMs: (seconds + 30) * 1000,
    });
    const j = JSON.parse(r.stdout || '{}') as {
      end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
      error?: string;
    };
    if (!j.end?.sum_received?.bits_per_second)
      throw new Error(`iperf3 failed: ${j.error ?? r.stderr.trim()}`);
    return { gbps: j.end.sum_received.bits_per_second / 1e9, retransmits: j.end.sum_sent?.retransmits };
  } finally {
    await lab.kill(server);
  }
}
