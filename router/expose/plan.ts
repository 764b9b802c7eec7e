/**
 * What `weft expose` and `weft hide` must change, as a list of steps computed
 * purely from what is there now and what was asked. The shell (apply.ts)
 * reads the state, calls these, and performs the steps in order; a test can
 * read the plan without a kernel.
 *
 * expose [addr/len …] [--without-masquerade]:
 *   the bridge up, each address on it (the connected route to its subnet
 *   comes with it: that is how the host reaches containers), forwarding on,
 *   and table `ip weft` rewritten for every subnet that masquerades — the new
 *   ones unless --without-masquerade, plus those already masqueraded.
 *
 * hide [addr/len …]: those addresses (default: every address of the bridge
 *   inside the allocation range) removed, and the table rewritten for what is
 *   left, or deleted when nothing is left. Forwarding is left as it is: other
 *   things on the host may rely on it.
 */
import { WeftError } from '../../common/errors.js';
import { type Cidr, cidrContains, cidrContainsCidr, formatCidr, parseCidr } from '../../common/ip.js';
import type { NftFamily } from '../kernel/nftables.js';
import { EXPOSE_TABLE, exposeRuleset, mustBeIfname, networkOf, normalizeSubnets } from './ruleset.js';

export type ExposeStep =
  | { kind: 'link-up'; dev: string }
  | { kind: 'add-address'; dev: string; cidr: string }
  | { kind: 'delete-address'; dev: string; cidr: string }
  | { kind: 'sysctl'; key: string; value: string }
  | { kind: 'nft-apply'; family: NftFamily; table: string; body: string }
  | { kind: 'nft-delete'; family: NftFamily; table: string };

/** What is there now (read by the shell). */
export interface ExposeState {
  /** Host addresses on the bridge, "ip/len". */
  bridgeAddresses: readonly string[];
  /** Subnets table `ip weft` masquerades now ([] when there is no table). */
  masqueraded: readonly Cidr[];
}

export interface ExposeRequest {
  bridge: string;
  /** Host addresses to put on the bridge, "ip/len" (the IPAM allocates them). */
  addresses: readonly string[];
  masquerade: boolean;
  /** The allocation range: exposed addresses must lie inside it. */
  range: Cidr;
}

export interface HideRequest {
  bridge: string;
  /** Addresses to remove, "ip/len"; empty: every bridge address inside `range`. */
  addresses: readonly string[];
  range: Cidr;
}

export interface ExposePlan {
  steps: ExposeStep[];
  /** Addresses the plan adds (expose) or removes (hide), "ip/len": the IPAM keeps or releases them. */
  addresses: string[];
  /** Subnets masqueraded once the plan ran. */
  masqueraded: string[];
}

function mustHostCidr(s: string, range: Cidr): Cidr {
  const c = parseCidr(s, { host: true });
  if (!c)
    throw new WeftError(
      'INVALID_CIDR',
      `invalid address ${JSON.stringify(s)}: want ip/len, e.g. 10.32.0.1/12`,
    );
  if (!cidrContainsCidr(range, networkOf(c))) {
    throw new WeftError('OUT_OF_RANGE', `${s} is outside the allocation range ${formatCidr(range)}`, {
      address: s,
      range: formatCidr(range),
    });
  }
  return c;
}

function tableSteps(subnets: readonly Cidr[], bridge: string): ExposeStep[] {
  const { family, name } = EXPOSE_TABLE;
  if (subnets.length === 0) return [{ kind: 'nft-delete', family, table: name }];
  return [{ kind: 'nft-apply', family, table: name, body: exposeRuleset({ subnets, bridge }) }];
}

export function planExpose(state: ExposeState, req: ExposeRequest): ExposePlan {
  const bridge = mustBeIfname(req.bridge);
  if (req.addresses.length === 0) throw new WeftError('BAD_REQUEST', 'nothing to expose: no address given');
  const wanted = req.addresses.map((a) => mustHostCidr(a, req.range));
  const present = new Set(state.bridgeAddresses);
  const steps: ExposeStep[] = [{ kind: 'link-up', dev: bridge }];
  for (const c of wanted) {
    const text = formatCidr(c);
    if (!present.has(text)) steps.push({ kind: 'add-address', dev: bridge, cidr: text });
  }
  const masqueraded = normalizeSubnets([...state.masqueraded, ...(req.masquerade ? wanted : [])]);
  if (masqueraded.length > 0) steps.push({ kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' });
  steps.push(...tableSteps(masqueraded, bridge));
  return { steps, addresses: wanted.map(formatCidr), masqueraded: masqueraded.map(formatCidr) };
}

export function planHide(state: ExposeState, req: HideRequest): ExposePlan {
  const bridge = mustBeIfname(req.bridge);
  const present = state.bridgeAddresses
    .map((a) => parseCidr(a, { host: true }))
    .filter((c): c is Cidr => !!c);
  const gone: Cidr[] =
    req.addresses.length === 0
      ? present.filter((c) => cidrContains(req.range, c.addr))
      : req.addresses
          .map((a) => mustHostCidr(a, req.range))
          .filter((c) => state.bridgeAddresses.includes(formatCidr(c)));
  const goneText = new Set(gone.map(formatCidr));
  const left = present.filter((c) => !goneText.has(formatCidr(c)));
  // A subnet stays masqueraded while an address of the bridge is still in it.
  const leftNets = new Set(left.map((c) => formatCidr(networkOf(c))));
  const masqueraded = normalizeSubnets(state.masqueraded).filter((s) => leftNets.has(formatCidr(s)));
  const steps: ExposeStep[] = gone.map((c) => ({ kind: 'delete-address', dev: bridge, cidr: formatCidr(c) }));
  steps.push(...tableSteps(masqueraded, bridge));
  return { steps, addresses: [...goneText], masqueraded: masqueraded.map(formatCidr) };
}
