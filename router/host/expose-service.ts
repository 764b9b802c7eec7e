/**
 * `weft expose` / `weft hide` as the router performs them (POST / DELETE
 * /expose): the host's addresses on the overlay come from the IPAM under the
 * id `weft:expose` (so no container ever gets them, and they survive a router
 * restart like any allocation), and router/expose puts them on the bridge and
 * writes the masquerading table `ip weft`.
 *
 *   expose [cidr…]   a subnet (10.32.1.0/24: an address allocated in it) or a
 *                    host address (10.32.1.7/24: that address claimed);
 *                    nothing: an address in the default subnet. Idempotent: a
 *                    subnet already exposed keeps its address.
 *   hide [cidr…]     those (a subnet: its exposed address); nothing: all of them.
 *
 * Operations run one at a time: two concurrent exposes must not both read the
 * table before either writes it. An expose that fails after allocating gives
 * the new addresses back.
 */
import { WeftError } from '../../common/errors.js';
import { type Cidr, cidrContains, cidrNetwork, formatCidr, parseCidr } from '../../common/ip.js';
import type { Logger } from '../../common/logger.js';
import { DEFAULT_DEVICES } from '../dataplane/devices.js';
import { type ExposeDeps, exposeHost, hideHost, readExposeState } from '../expose/index.js';
import { EXPOSE_ID } from './attachment-ids.js';

/** What expose needs from the IPAM service (IpamService provides it). */
export interface ExposeIpam {
  allocate(containerId: string, subnet?: Cidr): Promise<{ address: string }>;
  claim(containerId: string, ip: number, prefix: number): Promise<{ address: string }>;
  release(containerId: string, ip?: number): Promise<{ released: string[] }>;
  lookup(containerId: string): ReadonlyArray<{ address: string }>;
  status(): { range: string; defaultSubnet: string };
}

export interface ExposeState {
  /** The host's overlay addresses on the bridge, "ip/len". */
  addresses: string[];
  /** Subnets whose traffic is masqueraded. */
  masqueraded: string[];
}

export interface ExposeServiceOptions {
  ipam: () => ExposeIpam | undefined;
  deps: ExposeDeps;
  bridge?: string;
  logger: Logger;
}

type Wanted = { kind: 'subnet'; subnet: Cidr } | { kind: 'address'; cidr: Cidr };

function parseWanted(s: string): Wanted {
  const text = s.startsWith('net:') ? s.slice(4) : s;
  const subnet = parseCidr(text);
  if (subnet) return { kind: 'subnet', subnet };
  const cidr = parseCidr(text, { host: true });
  if (cidr && !s.startsWith('net:')) return { kind: 'address', cidr };
  throw new WeftError(
    'INVALID_CIDR',
    `invalid address or subnet ${JSON.stringify(s)}: want a.b.c.d/n (a subnet, or an address in one)`,
  );
}

const sameSubnet = (address: string, subnet: Cidr) => {
  const c = parseCidr(address, { host: true });
  return !!c && c.prefix === subnet.prefix && cidrNetwork(c) === cidrNetwork(subnet);
};

export class ExposeService {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly bridge: string;

  constructor(private readonly opts: ExposeServiceOptions) {
    this.bridge = opts.bridge ?? DEFAULT_DEVICES.bridge;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private ipam(): ExposeIpam {
    const ipam = this.opts.ipam();
    if (!ipam)
      throw new WeftError('NOT_FOUND', 'this router runs without IPAM: there is no address to expose');
    return ipam;
  }

  private range(ipam: ExposeIpam): Cidr {
    return parseCidr(ipam.status().range)!;
  }

  async state(): Promise<ExposeState> {
    const ipam = this.ipam();
    const range = this.range(ipam);
    const s = await readExposeState(this.opts.deps, this.bridge);
    return {
      addresses: s.bridgeAddresses.filter((a) => {
        const c = parseCidr(a, { host: true });
        return !!c && cidrContains(range, c.addr);
      }),
      masqueraded: s.masqueraded.map(formatCidr),
    };
  }

  expose(req: { cidrs: readonly string[]; masquerade: boolean }): Promise<ExposeState> {
    return this.serial(async () => {
      const ipam = this.ipam();
      const range = this.range(ipam);
      const wanted = (req.cidrs.length > 0 ? req.cidrs : [ipam.status().defaultSubnet]).map(parseWanted);
      const before = new Set(ipam.lookup(EXPOSE_ID).map((a) => a.address));
      const addresses: string[] = [];
      try {
        for (const w of wanted) {
          if (w.kind === 'subnet') {
            // One address per subnet: an exposed subnet keeps the one it has.
            const have = [...before].find((a) => sameSubnet(a, w.subnet));
            addresses.push(have ?? (await ipam.allocate(EXPOSE_ID, w.subnet)).address);
          } else {
            addresses.push((await ipam.claim(EXPOSE_ID, w.cidr.addr, w.cidr.prefix)).address);
          }
        }
        const plan = await exposeHost(this.opts.deps, {
          bridge: this.bridge,
          addresses,
          masquerade: req.masquerade,
          range,
        });
        this.opts.logger.info(
          { addresses: plan.addresses, masqueraded: plan.masqueraded },
          'exposed the host on the overlay',
        );
        return this.state();
      } catch (e) {
        for (const a of addresses.filter((x) => !before.has(x))) {
          const ip = parseCidr(a, { host: true })!.addr;
          await ipam.release(EXPOSE_ID, ip).catch(() => undefined);
        }
        throw e;
      }
    });
  }

  hide(req: { cidrs: readonly string[] }): Promise<ExposeState> {
    return this.serial(async () => {
      const ipam = this.ipam();
      const range = this.range(ipam);
      const held = ipam.lookup(EXPOSE_ID).map((a) => a.address);
      let addresses: string[] = [];
      if (req.cidrs.length > 0) {
        for (const w of req.cidrs.map(parseWanted)) {
          if (w.kind === 'address') addresses.push(formatCidr(w.cidr));
          else addresses.push(...held.filter((a) => sameSubnet(a, w.subnet)));
        }
        addresses = [...new Set(addresses)];
      }
      const plan = await hideHost(this.opts.deps, { bridge: this.bridge, addresses, range });
      // Every hidden address, and (hide all) whatever IPAM still holds for the host.
      const release = req.cidrs.length > 0 ? addresses : [...new Set([...plan.addresses, ...held])];
      for (const a of release) {
        const c = parseCidr(a, { host: true });
        if (c && held.includes(a)) await ipam.release(EXPOSE_ID, c.addr);
      }
      this.opts.logger.info({ addresses: plan.addresses }, 'hid the host from the overlay');
      return this.state();
    });
  }
}
