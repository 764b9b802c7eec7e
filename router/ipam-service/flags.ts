/**
 * `--ipalloc-range`, `--ipalloc-init` and `--ipalloc-default-subnet` (or the
 * environment variables WEFT_IPALLOC_RANGE / WEFT_IPALLOC_INIT /
 * WEFT_IPALLOC_DEFAULT_SUBNET) → IPAM options. Pure; errors are WeftErrors
 * with the one line the CLI prints.
 *
 *   --ipalloc-init consensus          quorum of (initial peers + 1) agree on the initial owners (default)
 *   --ipalloc-init consensus=5        … of a cluster of 5
 *   --ipalloc-init seed=name1,name2   every peer builds the same ring from these peer names
 *   --ipalloc-init observer           own nothing; ask others for space
 */
import { WeftError } from '../../common/errors.js';
import { type Cidr, cidrContainsCidr, formatCidr, parseCidr } from '../../common/ip.js';
import { isValidPeerName } from '../../ipam/owner.js';
import type { InitMode } from '../../ipam/types.js';

export const DEFAULT_IPALLOC_RANGE = '10.32.0.0/12';

export interface IpallocFlags {
  ipallocRange?: string;
  ipallocInit?: string;
  ipallocDefaultSubnet?: string;
}

export interface IpamOptions {
  range: Cidr;
  defaultSubnet?: Cidr;
  init: InitMode;
}

function bad(message: string): never {
  throw new WeftError('BAD_REQUEST', message);
}

function cidr(flag: string, s: string): Cidr {
  const c = parseCidr(s);
  if (!c) bad(`${flag}: not a network in CIDR notation (host bits clear): ${JSON.stringify(s)}`);
  return c;
}

export function parseInit(s: string, initialPeers: number): InitMode {
  if (s === 'consensus') return { kind: 'consensus', size: initialPeers + 1 };
  if (s === 'observer') return { kind: 'observer' };
  const [mode, arg, ...rest] = s.split('=');
  if (rest.length > 0 || arg === undefined)
    bad(`--ipalloc-init: expected consensus[=N], seed=name,… or observer, got ${JSON.stringify(s)}`);
  if (mode === 'consensus') {
    if (!/^[1-9][0-9]{0,3}$/.test(arg))
      bad(`--ipalloc-init consensus=N: N must be a number from 1, got ${JSON.stringify(arg)}`);
    return { kind: 'consensus', size: Number(arg) };
  }
  if (mode === 'seed') {
    const peers = arg.split(',').map((p) => p.trim().toLowerCase());
    for (const p of peers)
      if (!isValidPeerName(p)) bad(`--ipalloc-init seed=…: not a peer name: ${JSON.stringify(p)}`);
    if (new Set(peers).size !== peers.length) bad('--ipalloc-init seed=…: a peer is listed twice');
    return { kind: 'seed', peers };
  }
  return bad(`--ipalloc-init: expected consensus[=N], seed=name,… or observer, got ${JSON.stringify(s)}`);
}

export function parseIpallocFlags(
  flags: IpallocFlags,
  env: Record<string, string | undefined>,
  initialPeers: number,
): IpamOptions {
  const rangeText = flags.ipallocRange ?? env.WEFT_IPALLOC_RANGE ?? DEFAULT_IPALLOC_RANGE;
  const range = cidr('--ipalloc-range', rangeText);
  if (range.prefix > 30) bad(`--ipalloc-range: ${rangeText} is too small (at most /30)`);
  const init = parseInit(flags.ipallocInit ?? env.WEFT_IPALLOC_INIT ?? 'consensus', initialPeers);
  const subnetText = flags.ipallocDefaultSubnet ?? env.WEFT_IPALLOC_DEFAULT_SUBNET;
  if (subnetText === undefined) return { range, init };
  const defaultSubnet = cidr('--ipalloc-default-subnet', subnetText);
  if (!cidrContainsCidr(range, defaultSubnet)) {
    bad(
      `--ipalloc-default-subnet: ${formatCidr(defaultSubnet)} is not inside --ipalloc-range ${formatCidr(range)}`,
    );
  }
  return { range, init, defaultSubnet };
}
