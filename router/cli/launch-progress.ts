/**
 * What `weft launch` prints while it waits: from each /report, one line on
 * the mesh (direct targets connected) and the address ring, printed when it
 * changes; done when every direct target is connected and the ring is ready.
 * Pure, so the wording and the "done" rule are tested without a router.
 */
import type { Report } from '../api/report.js';

export interface LaunchProgress {
  done: boolean;
  /** The mesh part ("peers: 1 of 2 connected (198.18.0.3:6783: connection refused)"). */
  mesh: string;
  /** The ring part ("ring: awaiting consensus (quorum 3, 2 known)"). */
  ring: string;
}

interface IpamPart {
  state?: string;
  range?: string;
  consensus?: { quorum: number; participants: unknown[] } | null;
}

const CONNECTED = new Set(['connected', 'satisfied']);

export function launchProgress(report: Report): LaunchProgress {
  const targets = report.router.targets.filter((t) => t.direct);
  const connected = targets.filter((t) => CONNECTED.has(t.state));
  const established = report.router.connections.filter((c) => c.state === 'established').length;
  let mesh =
    targets.length === 0
      ? `peers: no peers given (${established} connected)`
      : `peers: ${connected.length} of ${targets.length} connected`;
  const failing = targets.find((t) => !CONNECTED.has(t.state) && t.lastError);
  if (failing) mesh += ` (${failing.address}: ${failing.lastError})`;

  const ipam = report.ipam as IpamPart | undefined;
  let ring: string;
  let ringReady: boolean;
  if (!ipam?.state) {
    ring = 'ring: no IPAM in this router';
    ringReady = true;
  } else if (ipam.state === 'awaiting-consensus' && ipam.consensus) {
    ring = `ring: awaiting consensus (quorum ${ipam.consensus.quorum}, ${ipam.consensus.participants.length} known)`;
    ringReady = false;
  } else {
    ring = `ring: ${ipam.state.replaceAll('-', ' ')}${ipam.state === 'ready' && ipam.range ? `, range ${ipam.range}` : ''}`;
    ringReady = ipam.state === 'ready';
  }
  return { done: ringReady && connected.length === targets.length, mesh, ring };
}
