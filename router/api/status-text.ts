/**
 * `GET /status` and its views as human text, in the spirit of `weave status`:
 * right-aligned labels, one block per service. Pure: report in, text out.
 */
import type { Report, RouterReport, TargetReport } from './report.js';

/** One "Service: x" block: label/value pairs in order. */
export type StatusBlock = [label: string, value: string][];

/** Labels are right-aligned to `width` (default: the block's longest) plus an indent, as `weave status` does. */
export function formatBlock(block: StatusBlock, width = Math.max(...block.map(([l]) => l.length))): string {
  return block.map(([l, v]) => `${l.padStart(width + 8)}: ${v}`).join('\n');
}

export function peerLabel(name: string, nickname: string | undefined): string {
  return nickname ? `${name}(${nickname})` : name;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A target we are not connected to and that has failed at least once: shown as a failed connection, as Weave does. */
function failingTarget(t: TargetReport): boolean {
  return (t.state === 'waiting' || t.state === 'failed') && t.lastError !== null;
}

export function routerBlock(r: RouterReport): StatusBlock {
  const counts = new Map<string, number>();
  for (const c of r.connections) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  const failing = r.targets.filter(failingTarget).length;
  if (failing) counts.set('failed', (counts.get('failed') ?? 0) + failing);
  const established = counts.get('established') ?? 0;
  counts.delete('established');
  const connDetail = [`${established} established`, ...[...counts].sort().map(([s, n]) => `${n} ${s}`)].join(
    ', ',
  );
  const peerConns = r.peers.reduce((n, p) => n + p.connections.filter((c) => c.established).length, 0);
  return [
    ['Service', 'router'],
    ['Protocol', `${r.protocol.name} ${r.protocol.minVersion}..${r.protocol.maxVersion}`],
    ['Name', peerLabel(r.name, r.nickname)],
    ['Encryption', r.encryption ? 'enabled' : 'disabled'],
    ['PeerDiscovery', r.peerDiscovery ? 'enabled' : 'disabled'],
    ['Targets', String(r.targets.filter((t) => t.direct).length)],
    ['Connections', `${r.connections.length + failing} (${connDetail})`],
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
  // One column for the whole page, so every block's colons line up.
  const width = Math.max(...blocks.flatMap((b) => b.map(([l]) => l.length)));
  return `${blocks.map((b) => formatBlock(b, width)).join('\n\n')}\n`;
}

function retryText(t: TargetReport): string {
  if (t.state === 'failed') return 'retry: never';
  return t.retryInMs === undefined ? '' : `retry in ${Math.ceil(t.retryInMs / 1000)}s`;
}

/** `weft status connections`: one line per connection or attempt, then failing targets. */
export function formatConnections(r: RouterReport): string {
  const lines = r.connections.map((c) => {
    const who = c.name ? peerLabel(c.name, c.nickname) : '';
    const enc = c.encrypted ? 'encrypted' : 'unencrypted';
    const path = c.overlay ? `${c.overlay.path}${c.overlay.healthy ? '' : '(unhealthy)'}` : '';
    return row([
      c.outbound ? '->' : '<-',
      c.address.padEnd(21),
      c.state.padEnd(12),
      enc.padEnd(12),
      path,
      who,
      c.info,
    ]);
  });
  for (const t of r.targets.filter(failingTarget)) {
    lines.push(row(['->', t.address.padEnd(21), 'failed'.padEnd(12), t.lastError ?? '', retryText(t)]));
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function row(cells: string[]): string {
  return cells
    .filter((x) => x.trim() !== '')
    .join(' ')
    .trimEnd();
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

/** `weft status targets`: the direct targets (command line and /connect), one per line. */
export function formatTargets(r: RouterReport): string {
  const direct = r.targets.filter((t) => t.direct).map((t) => t.address);
  return direct.length ? `${direct.join('\n')}\n` : '';
}
