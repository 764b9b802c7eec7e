/**
 * Before `weft reset` asks the router to hand its address space over (DELETE
 * /peer): is there anyone to hand it to? The IPAM gives the space to live
 * owners if it can, else to any other owner — but with no peer reachable the
 * hand-over stays in this router's own ring, which the reset then deletes: the
 * space would be owned by a peer that no longer exists until someone runs
 * `weft rmpeer`. So reset refuses that case unless forced. Pure, over the
 * `ipam` section of /report.
 */
interface IpamReportPart {
  self?: string;
  ringId?: string | null;
  owned?: number;
  owners?: Array<{ owner: string; reachable: boolean; dead: boolean }>;
}

/** Why the hand-over cannot reach anyone, or undefined when it can (or there is nothing to hand over). */
export function handOverProblem(ipam: unknown): string | undefined {
  const s = ipam as IpamReportPart | undefined;
  if (!s?.ringId || !s.owned) return undefined;
  const others = (s.owners ?? []).filter((o) => o.owner !== s.self && !o.dead);
  if (others.length === 0) return undefined; // the only owner: nobody else uses this ring
  if (others.some((o) => o.reachable)) return undefined;
  return `no other owner of the address ring is reachable (${others.map((o) => o.owner).join(', ')})`;
}
