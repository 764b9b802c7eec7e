/**
 * The invariants the chaos suite checks, as pure functions over what it
 * observed (routers' IPAM API answers, containers' interface addresses) and
 * what the runtime knows (the ledger). Safety invariants must hold at every
 * moment, faults or not; convergence invariants must hold within a bound
 * once the faults are healed.
 */
import { formatIp, mustParseCidr, mustParseIp } from '../../common/ip.js';
import { allocationIdOf, type ContainerRecord, containerIdOf } from './ledger.js';

export interface RingEntryObs {
  first: string;
  last: string;
  size: number;
  owner: string;
  version: number;
}

export interface RingObs {
  state: string;
  ringId: string | null;
  range: string;
  entries: RingEntryObs[];
  dead: string[];
}

/** One router as seen in one check; `null` fields: that request did not answer. */
export interface RouterObs {
  host: number;
  generation: number;
  allocations: Array<{ containerId: string; ip: string }> | null;
  ring: RingObs | null;
  /** The IPAM owner id of this router (its incarnation), from /report. */
  self: string | null;
}

/** A container namespace's addresses on eth0 (null: the namespace is gone). */
export interface ContainerObs {
  id: string;
  addresses: string[] | null;
}

export interface Violation {
  invariant: string;
  detail: string;
}

function addClaim(map: Map<string, Set<string>>, ip: string, who: string): void {
  const s = map.get(ip) ?? new Set<string>();
  s.add(who);
  map.set(ip, s);
}

/**
 * Safety: no address held by two containers (across every router's
 * allocations and every container's interfaces); every acknowledged address
 * still held by its host's router and still on its container; nothing held
 * for a container that was released or destroyed; every allocation inside
 * space its router owns.
 */
export function checkSafety(
  records: readonly ContainerRecord[],
  routers: readonly RouterObs[],
  containers: readonly ContainerObs[],
  /** Containers whose state changed while the observation was made: not judged. */
  unsettled: ReadonlySet<string> = new Set(),
): Violation[] {
  const out: Violation[] = [];
  const byId = new Map(records.map((r) => [r.id, r]));
  const settled = (cid: string | undefined) => cid === undefined || !unsettled.has(cid);

  // ip → container ids claiming it, from routers and from interfaces together.
  const claims = new Map<string, Set<string>>();
  const routerClaims = new Map<string, Set<string>>();
  for (const r of routers) {
    for (const a of r.allocations ?? []) {
      if (!settled(containerIdOf(a.containerId))) continue;
      const cid = containerIdOf(a.containerId) ?? `(foreign id ${a.containerId})`;
      addClaim(claims, a.ip, cid);
      addClaim(routerClaims, a.ip, `h${r.host}:${a.containerId}`);
    }
  }
  for (const c of containers)
    if (settled(c.id)) for (const ip of c.addresses ?? []) addClaim(claims, ip, c.id);
  for (const [ip, who] of routerClaims)
    if (who.size > 1)
      out.push({
        invariant: 'unique-address',
        detail: `${ip} allocated by routers to ${[...who].join(', ')}`,
      });
  for (const [ip, who] of claims)
    if (who.size > 1)
      out.push({ invariant: 'unique-address', detail: `${ip} claimed by containers ${[...who].join(', ')}` });

  for (const r of routers) {
    if (!r.allocations) continue;
    const held = new Map(r.allocations.map((a) => [a.containerId, a.ip]));
    for (const rec of records) {
      if (rec.host !== r.host || rec.generation !== r.generation || rec.state !== 'live') continue;
      if (!settled(rec.id)) continue;
      const ip = held.get(allocationIdOf(rec.id));
      if (ip === undefined)
        out.push({
          invariant: 'acknowledged-kept',
          detail: `h${r.host} no longer holds ${rec.id} (acknowledged ${rec.ip})`,
        });
      else if (ip !== rec.ip)
        out.push({
          invariant: 'acknowledged-kept',
          detail: `h${r.host} holds ${rec.id} at ${ip}, acknowledged ${rec.ip}`,
        });
    }
    for (const a of r.allocations) {
      const cid = containerIdOf(a.containerId);
      if (!settled(cid)) continue;
      const rec = cid === undefined ? undefined : byId.get(cid);
      if (!rec) {
        out.push({
          invariant: 'no-stray-allocation',
          detail: `h${r.host} holds unknown ${a.containerId} ${a.ip}`,
        });
      } else if (rec.state === 'released' || rec.state === 'destroyed') {
        out.push({
          invariant: 'no-stray-allocation',
          detail: `h${r.host} holds ${a.containerId} ${a.ip} but the container is ${rec.state}`,
        });
      } else if (rec.host !== r.host) {
        out.push({
          invariant: 'no-stray-allocation',
          detail: `h${r.host} holds ${a.containerId} of a container on h${rec.host}`,
        });
      }
    }
    if (r.ring?.ringId && r.self) {
      const own = r.ring.entries
        .filter((e) => e.owner === r.self)
        .map((e) => [mustParseIp(e.first), mustParseIp(e.last)] as const);
      for (const a of r.allocations) {
        const ip = mustParseIp(a.ip);
        if (!own.some(([lo, hi]) => ip >= lo && ip <= hi))
          out.push({
            invariant: 'allocation-in-own-space',
            detail: `h${r.host} (${r.self}) holds ${a.ip} for ${a.containerId} outside its ring entries`,
          });
      }
    }
  }

  const seen = new Map(containers.map((c) => [c.id, c]));
  for (const rec of records) {
    if (rec.state !== 'live' || !settled(rec.id)) continue;
    const c = seen.get(rec.id);
    if (!c) continue;
    if (c.addresses === null)
      out.push({
        invariant: 'acknowledged-kept',
        detail: `container ${rec.id} (${rec.ip}) has lost its namespace`,
      });
    else if (!c.addresses.includes(rec.ip!))
      out.push({
        invariant: 'acknowledged-kept',
        detail: `container ${rec.id} has [${c.addresses.join(', ')}], acknowledged ${rec.ip}`,
      });
  }
  return out;
}

/** Problems with one ring's coverage of the range (none: entries tile it exactly). */
export function ringCoverageProblems(ring: RingObs): string[] {
  const range = mustParseCidr(ring.range);
  const start = range.addr >>> 0;
  const end = start + 2 ** (32 - range.prefix) - 1;
  const problems: string[] = [];
  if (ring.entries.length === 0) return ['no entries'];
  const rows = ring.entries.map((e) => ({ ...e, lo: mustParseIp(e.first), hi: mustParseIp(e.last) }));
  if (rows[0]!.lo !== start)
    problems.push(`first entry starts at ${rows[0]!.first}, range at ${formatIp(start)}`);
  let total = 0;
  for (const [i, e] of rows.entries()) {
    if (e.hi < e.lo) problems.push(`entry ${e.first}-${e.last} is reversed`);
    if (e.size !== e.hi - e.lo + 1) problems.push(`entry ${e.first}-${e.last} claims size ${e.size}`);
    total += e.hi - e.lo + 1;
    const next = rows[i + 1];
    if (next && next.lo !== e.hi + 1) problems.push(`gap or overlap between ${e.last} and ${next.first}`);
  }
  if (rows.at(-1)!.hi !== end)
    problems.push(`last entry ends at ${rows.at(-1)!.last}, range at ${formatIp(end)}`);
  if (total !== end - start + 1)
    problems.push(`entries cover ${total} addresses, the range has ${end - start + 1}`);
  return problems;
}

function ringKey(r: RingObs): string {
  return JSON.stringify({
    id: r.ringId,
    entries: r.entries.map((e) => [e.first, e.last, e.owner, e.version]),
    dead: [...r.dead].sort(),
  });
}

/**
 * Convergence of the rings: every router answered, is ready, and all show the
 * same ring (id, entries with owners and versions, dead owners), which tiles
 * the range exactly. Returns what is still wrong (empty when converged).
 */
export function ringAgreementProblems(routers: readonly RouterObs[]): string[] {
  const problems: string[] = [];
  for (const r of routers) {
    if (!r.ring) problems.push(`h${r.host}: no ring answer`);
    else if (r.ring.state !== 'ready' || r.ring.ringId === null)
      problems.push(`h${r.host}: ring state ${r.ring.state}, id ${r.ring.ringId}`);
    else for (const p of ringCoverageProblems(r.ring)) problems.push(`h${r.host}: ${p}`);
  }
  const keys = new Set(routers.filter((r) => r.ring).map((r) => ringKey(r.ring!)));
  if (keys.size > 1) {
    const ids = routers.map((r) => `h${r.host}=${r.ring?.ringId ?? '-'}/${r.ring?.entries.length ?? 0}e`);
    problems.push(`routers disagree on the ring: ${ids.join(' ')}`);
  }
  return problems;
}
