/**
 * Applying the core's `persist` effects to an in-memory copy of its persisted
 * state: the reference semantics the sqlite store (router/store/ipam-store.ts)
 * implements durably, and the "disk" of simulated peers that crash and restart.
 */
import type { Allocation } from './address-book.js';
import type { PersistChange, PersistedIpam } from './types.js';

export function applyPersistChange(state: PersistedIpam | null, change: PersistChange): PersistedIpam {
  const owner = change.owner ?? state?.owner;
  if (owner === undefined) throw new Error('the first persisted change must name the owner');
  const allocations = new Map<number, Allocation>((state?.allocations ?? []).map((a) => [a.addr, a]));
  for (const op of change.allocations ?? []) {
    if ('clear' in op) allocations.clear();
    else if ('put' in op) allocations.set(op.put.addr, op.put);
    else allocations.delete(op.del);
  }
  return {
    owner,
    ring: change.ring !== undefined ? change.ring : (state?.ring ?? null),
    claims: change.claims !== undefined ? change.claims : (state?.claims ?? null),
    allocations: [...allocations.values()].sort((a, b) => a.addr - b.addr),
    left: change.left ?? state?.left ?? false,
  };
}
