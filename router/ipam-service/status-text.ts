/**
 * IPAM in /report (JSON), in the /status summary (a "Service: ipam" block)
 * and as /status/ipam (one line per owner, like `weave status ipam`).
 */
import type { IpamStatus } from '../../ipam/types.js';
import type { RingView } from './ring-view.js';

type StatusBlock = [label: string, value: string][];

function pct(n: number, of: number): string {
  return of === 0 ? '0%' : `${((100 * n) / of).toFixed(1)}%`;
}

function rangeSize(range: string): number {
  return 2 ** (32 - Number(range.split('/')[1]));
}

/** The `ipam` section of /report: the status, as JSON. */
export function ipamReport(s: IpamStatus): IpamStatus {
  return s;
}

export function stateText(s: IpamStatus): string {
  switch (s.state) {
    case 'awaiting-consensus': {
      const c = s.consensus;
      return c
        ? `awaiting consensus (quorum: ${c.quorum}, known: ${c.participants.length}${
            c.quorums.length > 1 ? `, peers disagree on the quorum: ${c.quorums.join('/')}` : ''
          })`
        : 'awaiting consensus';
    }
    case 'awaiting-ring':
      return 'waiting for a ring from peers (observer)';
    case 'syncing':
      return 'ready after hearing the ring from a peer (restarted)';
    case 'left':
      return 'handed its space over; leaving';
    case 'ready': {
      if (s.conflicts.length > 0)
        return `ready, but refusing rings from ${s.conflicts.map((c) => c.peer).join(', ')}`;
      const size = rangeSize(s.range);
      const lost = s.unreachable.reduce((n, o) => n + o.addresses, 0);
      if (lost === size) return 'ready, but all ranges are owned by unreachable peers';
      return 'ready';
    }
  }
}

export function ipamStatusBlock(s: IpamStatus): StatusBlock {
  const size = rangeSize(s.range);
  const unreachable = s.unreachable.reduce((n, o) => n + o.addresses, 0);
  const block: StatusBlock = [
    ['Service', 'ipam'],
    ['Status', stateText(s)],
    ['Range', s.range],
    ['DefaultSubnet', s.defaultSubnet],
  ];
  if (s.ringId !== null) {
    block.push([
      'Owned',
      `${s.owned} addresses (${pct(s.owned, size)} of the range), ${s.free} free, ${s.allocated} allocated`,
    ]);
    if (s.unreachable.length > 0) {
      block.push([
        'Unreachable',
        `${s.unreachable.length} owners with ${unreachable} addresses (${pct(unreachable, size)})`,
      ]);
    }
  }
  if (s.pending.allocate + s.pending.claim > 0) {
    block.push(['Pending', `${s.pending.allocate} allocations, ${s.pending.claim} claims`]);
  }
  if (s.conflicts.length > 0) {
    block.push(['Conflicts', s.conflicts.map((c) => `${c.peer}: ${c.reason} (x${c.count})`).join('; ')]);
  }
  return block;
}

/** GET /status/ipam: who owns how much, who is unreachable. */
export function ipamStatusView(s: IpamStatus, ring: RingView): string {
  const size = rangeSize(s.range);
  const lines = [`${s.self} (us): ${stateText(s)}`];
  for (const o of s.owners) {
    const flag =
      o.owner === s.self ? '' : o.dead ? ' - gone (rmpeer to reclaim)' : o.reachable ? '' : ' - unreachable!';
    lines.push(
      `${o.owner.padEnd(28)} ${String(o.addresses).padStart(10)} IPs (${pct(o.addresses, size).padStart(6)} of total) (${o.free} available)${flag}`,
    );
  }
  if (ring.ringId)
    lines.push(`ring ${ring.ringId}: ${ring.entries.length} entries, ${ring.dead.length} gone owners`);
  return `${lines.join('\n')}\n`;
}
