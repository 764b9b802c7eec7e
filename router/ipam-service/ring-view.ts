/**
 * The ring as `GET /ring` shows it: one row per entry with its addresses,
 * owner (and that owner's peer), version, advisory free count, and whether
 * the owner is reachable or gone.
 */
import { formatIp } from '../../common/ip.js';
import { ownerPeer } from '../../ipam/owner.js';
import { effectiveFree, entryEnd, isDead, type Ring } from '../../ipam/ring.js';
import type { IpamState, IpamStatus } from '../../ipam/types.js';

export interface RingEntryView {
  /** First and last address of the entry. */
  first: string;
  last: string;
  size: number;
  owner: string;
  peer: string;
  version: number;
  free: number;
  reachable: boolean;
  dead: boolean;
}

export interface RingView {
  state: IpamState;
  ringId: string | null;
  range: string;
  entries: RingEntryView[];
  /** Owners proven gone; of those, the ones that left cleanly. */
  dead: string[];
  left: string[];
}

export function ringView(ring: Ring | null, status: IpamStatus): RingView {
  const reachable = new Map(status.owners.map((o) => [o.owner, o.reachable]));
  return {
    state: status.state,
    ringId: ring?.id ?? null,
    range: status.range,
    entries: ring
      ? ring.entries.map((e, i) => ({
          first: formatIp(e.token),
          last: formatIp(entryEnd(ring, i) - 1),
          size: entryEnd(ring, i) - e.token,
          owner: e.owner,
          peer: ownerPeer(e.owner),
          version: e.version,
          free: effectiveFree(ring, i),
          reachable: reachable.get(e.owner) ?? false,
          dead: isDead(ring, e.owner),
        }))
      : [],
    dead: ring ? [...ring.dead] : [],
    left: ring ? [...ring.left] : [],
  };
}
