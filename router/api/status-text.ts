/**
 * `GET /status` and its views as human text, in the spirit of `weave status`:
 * right-aligned labels, one block per service. Pure: report in, text out.
 */
import type { Report, RouterReport } from './report.js';

/** One "Service: x" block: label/value pairs in order. */
export type StatusBlock = [label: string, value: string][];

export function formatBlock(block: StatusBlock): string {
  const width = Math.max(...block.map(([l]) => l.length));
  return block.map(([l, v]) => `${l.padStart(width + 8)}: ${v}`).join('\n');
}

export function peerLabel(name: string, nickname: string | undefined): string {
  return nickname ? `${name}(${nickname})` : name;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function routerBlock(r: RouterReport): StatusBlock {
  const established = r.connections.filter((c) => c.state === 'established').length;
  const others = new Map<string, number>();
  for (const c of r.connections)
    if (c.state !== 'established') others.set(c.state, (others.get(c.state) ?? 0) + 1);
  const connDetail = [`${established} established`, ...[...others].sort().map(([s, n]) => `${n} ${s}`)].join(
    ', ',
  );
  const peerConns = r.peers.reduce((n, p) => n + p.connections.filter((c) => c.established).length, 0);
  return [
    ['Service', 'router'],
    ['Protocol', `${r.protocol.name} ${r.protocol.minVersion}..${r.protocol.maxVersion}`],
    ['Name', peerLabel(r.name, r.nickname)],
    ['Encryption', r.encryption ? 'enabled' : 'disabled'],
    ['PeerDiscovery', r.peerDiscovery ? 'enabled' : 'disabled'],
    ['Targets', String(r.targets.length)],
    ['Connections', `${r.connections.length} (${connDetail})`],
    ['Peers', `${r.peers.length} (with ${plural(peerConns, 'established connection')})`],
  ];
}

/** The whole status page: version, the router block, then one block per extension. */
export function formatStatus(report: Report, extraBlocks: StatusBlock[]): string {
  const blocks = [
    [['Version', `weft ${report.version}`]] as StatusBlock,
    routerBlock(report.router),
    ...extraBlocks,
  ];
  return `${blocks.map(formatBlock).join('\n\n')}\n`;
}

/** `weft status connections`: one line per connection or attempt. */
export function formatConnections(r: RouterReport): string {
  const lines = r.connections.map((c) => {
    const dir = c.outbound ? '->' : '<-';
    const who = c.name ? peerLabel(c.name, c.nickname) : '';
    const enc = c.encrypted ? 'encrypted' : 'unencrypted';
    const path = c.overlay ? `${c.overlay.path}${c.overlay.healthy ? '' : '(unhealthy)'}` : '';
    return [dir, c.address.padEnd(21), c.state.padEnd(12), enc.padEnd(12), path.padEnd(8), who, c.info]
      .filter((x) => x.trim() !== '')
      .join(' ')
      .trimEnd();
  });
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** `weft status peers`: each peer and the connections it reports. */
export function formatPeers(r: RouterReport): string {
  const out: string[] = [];
  for (const p of [...r.peers].sort((a, b) => a.name.localeCompare(b.name))) {
    out.push(peerLabel(p.name, p.nickname));
    for (const c of p.connections) {
      const dir = c.outbound ? '->' : '<-';
      out.push(
        `   ${dir} ${c.address.padEnd(21)} ${peerLabel(c.name, c.nickname)} ${c.established ? 'established' : 'pending'}`,
      );
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/** `weft status targets`: one address per line. */
export function formatTargets(r: RouterReport): string {
  return r.targets.length ? `${r.targets.join('\n')}\n` : '';
}
