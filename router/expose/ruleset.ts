/**
 * The nftables ruleset behind `weft expose` / `weft hide`: one table of our
 * own, `ip weft`, replaced whole (Nftables.applyTable) and deleted by hide or
 * reset. Nothing here touches any other table.
 *
 * For the exposed subnets S (the subnets of the host's addresses on the
 * bridge that asked for masquerading), in NAT postrouting:
 *
 *   ip saddr S ip daddr 224.0.0.0/4 return
 *       multicast stays on the overlay as it is;
 *   ip saddr S ip daddr != S oifname != "<bridge>" masquerade
 *       containers reaching the world through this host: the world answers
 *       the host, which knows the way back (the host's address replaces the
 *       overlay address nobody outside can route);
 *   ip saddr != S ip daddr S oifname "<bridge>" masquerade
 *       the host or the world (a port mapping) reaching containers: they
 *       answer the host's bridge address, which every host's overlay
 *       reaches, instead of an address they would send to their own default
 *       route. The host's own bridge address is in S, so it is left alone.
 *
 * These are Weave's expose rules (WEAVE chain in iptables nat), as one nft
 * table. Each subnet's rules carry a comment `weft-expose <cidr>` so that the
 * current state can be read back from `nft -j` (see exposedSubnetsOf).
 *
 * Forwarding still needs net.ipv4.ip_forward=1 (the plan sets it), and a
 * `drop` policy in someone else's forward chain (e.g. Docker's iptables)
 * still drops: an accept in our table cannot override another table's drop,
 * so we do not pretend to.
 */
import { WeftError } from '../../common/errors.js';
import { type Cidr, cidrNetwork, formatCidr, parseCidr } from '../../common/ip.js';
import type { NftFamily, NftObject } from '../kernel/nftables.js';

export const EXPOSE_TABLE: { family: NftFamily; name: string } = { family: 'ip', name: 'weft' };
export const EXPOSE_COMMENT_PREFIX = 'weft-expose ';

/** Interface names as the kernel allows them (and safe inside an nft string). */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function mustBeIfname(name: string): string {
  if (!IFNAME.test(name))
    throw new WeftError('BAD_REQUEST', `invalid interface name ${JSON.stringify(name)}`);
  return name;
}

/** The network of a CIDR (host bits cleared), e.g. 10.32.0.1/12 → 10.32.0.0/12. */
export function networkOf(c: Cidr): Cidr {
  return { addr: cidrNetwork(c), prefix: c.prefix };
}

/** Sorted, de-duplicated networks. */
export function normalizeSubnets(subnets: readonly Cidr[]): Cidr[] {
  const byText = new Map<string, Cidr>();
  for (const s of subnets) {
    const n = networkOf(s);
    byText.set(formatCidr(n), n);
  }
  return [...byText.values()].sort((a, b) => a.addr - b.addr || a.prefix - b.prefix);
}

/** The body of table `ip weft` for these subnets; empty subnets is an error (delete the table instead). */
export function exposeRuleset(input: { subnets: readonly Cidr[]; bridge: string }): string {
  const bridge = mustBeIfname(input.bridge);
  const subnets = normalizeSubnets(input.subnets);
  if (subnets.length === 0) throw new WeftError('BAD_REQUEST', 'no subnet to masquerade');
  const lines = ['  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;'];
  for (const s of subnets) {
    const cidr = formatCidr(s);
    const note = `comment "${EXPOSE_COMMENT_PREFIX}${cidr}"`;
    lines.push(`    ip saddr ${cidr} ip daddr 224.0.0.0/4 return ${note}`);
    lines.push(`    ip saddr ${cidr} ip daddr != ${cidr} oifname != "${bridge}" masquerade ${note}`);
    lines.push(`    ip saddr != ${cidr} ip daddr ${cidr} oifname "${bridge}" masquerade ${note}`);
  }
  lines.push('  }');
  return lines.join('\n');
}

/** The subnets a listed `ip weft` table masquerades (from the rules' comments); [] for no table. */
export function exposedSubnetsOf(objects: readonly NftObject[] | undefined): Cidr[] {
  const out: Cidr[] = [];
  for (const o of objects ?? []) {
    const comment = o.rule?.comment;
    if (typeof comment !== 'string' || !comment.startsWith(EXPOSE_COMMENT_PREFIX)) continue;
    const c = parseCidr(comment.slice(EXPOSE_COMMENT_PREFIX.length));
    if (c) out.push(c);
  }
  return normalizeSubnets(out);
}
