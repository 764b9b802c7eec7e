/**
 * What the container runtime knows about every container the chaos suite ever
 * attached: the ground truth the routers are checked against. Pure.
 *
 *   adding ──ADD ok──► live ──DEL ok──► released
 *     │                 │  └─DEL failed (router down)──► del-pending ──DEL ok──► released
 *     └─ADD failed──► (the runtime calls DEL, as CNI requires) ──► released | del-pending
 *   any state ──host re-provisioned or gone for good──► destroyed
 *
 * "Acknowledged" means ADD answered with an address: from then until a DEL
 * succeeds the host's router must hold exactly that address for the
 * container (checked whenever the router answers), and no router may hold an
 * address for a container that is released or destroyed.
 */

export type ContainerState = 'adding' | 'live' | 'deleting' | 'del-pending' | 'released' | 'destroyed';

export interface ContainerRecord {
  readonly id: string;
  /** Host index and that host's generation (bumped when it is re-provisioned/replaced). */
  readonly host: number;
  readonly generation: number;
  /** Network namespace name ("the container"). */
  readonly ns: string;
  state: ContainerState;
  /** Bumped on every state change: a check that saw it change ignores the container. */
  version: number;
  /** Acknowledged address (no prefix), once ADD succeeded. */
  ip?: string;
  /** CNI result of the ADD, passed back to DEL as prevResult. */
  result?: Record<string, unknown>;
  /** When the ADD was acknowledged (ms since the run started). */
  ackedAt?: number;
}

export interface LedgerCounts {
  added: number;
  addFailed: number;
  released: number;
  delFailed: number;
  destroyed: number;
}

export const NETWORK_NAME = 'weft';

/** The router's allocation id for a CNI attachment (cni-plugin/naming.ts, ifname eth0). */
export function allocationIdOf(containerId: string): string {
  return `cni:${NETWORK_NAME}:${containerId}:eth0`;
}

/** The container id inside an allocation id, or undefined for ids that are not ours. */
export function containerIdOf(allocationId: string): string | undefined {
  const prefix = `cni:${NETWORK_NAME}:`;
  if (!allocationId.startsWith(prefix) || !allocationId.endsWith(':eth0')) return undefined;
  return allocationId.slice(prefix.length, -':eth0'.length);
}

export class Ledger {
  private readonly byId = new Map<string, ContainerRecord>();
  readonly counts: LedgerCounts = { added: 0, addFailed: 0, released: 0, delFailed: 0, destroyed: 0 };

  begin(id: string, host: number, generation: number, ns: string): ContainerRecord {
    if (this.byId.has(id)) throw new Error(`container id ${id} used twice`);
    const rec: ContainerRecord = { id, host, generation, ns, state: 'adding', version: 0 };
    this.byId.set(id, rec);
    return rec;
  }

  get(id: string): ContainerRecord | undefined {
    return this.byId.get(id);
  }

  all(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /*
   * Each outcome below is ignored (returns false) for a container whose host
   * was wiped while the call was in flight: it no longer exists.
   */
  addSucceeded(id: string, ip: string, result: Record<string, unknown>, at: number): boolean {
    const r = this.move(id, ['adding'], 'live');
    if (!r) return false;
    r.ip = ip;
    r.result = result;
    r.ackedAt = at;
    this.counts.added++;
    return true;
  }

  /** ADD failed: the runtime will DEL next. */
  addFailed(id: string): boolean {
    if (!this.move(id, ['adding'], 'deleting')) return false;
    this.counts.addFailed++;
    return true;
  }

  delStarted(id: string): boolean {
    return !!this.move(id, ['live', 'del-pending'], 'deleting');
  }

  delSucceeded(id: string): boolean {
    if (!this.move(id, ['deleting'], 'released')) return false;
    this.counts.released++;
    return true;
  }

  delFailed(id: string): boolean {
    if (!this.move(id, ['deleting'], 'del-pending')) return false;
    this.counts.delFailed++;
    return true;
  }

  /** The host re-provisioned or removed: every container it had is gone with it. */
  destroyHost(host: number, generation: number): ContainerRecord[] {
    const gone: ContainerRecord[] = [];
    for (const r of this.byId.values()) {
      if (r.host !== host || r.generation !== generation) continue;
      if (r.state === 'released' || r.state === 'destroyed') continue;
      r.state = 'destroyed';
      r.version++;
      this.counts.destroyed++;
      gone.push(r);
    }
    return gone;
  }

  /** Containers in one of `states` (on `host`, current generation, when given). */
  inState(
    states: readonly ContainerState[],
    host?: { index: number; generation: number },
  ): ContainerRecord[] {
    return this.all().filter(
      (r) =>
        states.includes(r.state) &&
        (host === undefined || (r.host === host.index && r.generation === host.generation)),
    );
  }

  private move(id: string, from: readonly ContainerState[], to: ContainerState): ContainerRecord | undefined {
    const r = this.byId.get(id);
    if (!r) throw new Error(`unknown container ${id}`);
    if (r.state === 'destroyed') return undefined;
    if (!from.includes(r.state)) throw new Error(`container ${id} is ${r.state}, expected ${from.join('|')}`);
    r.state = to;
    r.version++;
    return r;
  }
}
