/**
 * Underlay faults between the simulated hosts of a Lab, as one declarative
 * state that is rendered per host and applied whole:
 *
 *   - directed cuts: packets from host A to host B are dropped (a symmetric
 *     partition is two cuts; one cut alone is an asymmetric partition);
 *   - loss: a host drops a percentage of its underlay packets, in and out
 *     (this kernel has no netem: nftables `numgen random mod 100 < N drop`);
 *   - throttle: a host's link is shaped with tc tbf in both directions (its
 *     eth0 egress, and the underlay bridge port's egress, which is its ingress).
 *
 * Lab.block is symmetric and owns the `weftlab` table; ours is `weftchaos`, so
 * the two never touch each other. Rendering is pure (tested without a
 * kernel); `NetFaultApplier` swaps a host's table atomically (`nft -f`) only
 * when its text changed, and remembers nothing the kernel does not: after a
 * host namespace is re-created (a re-provisioned host) `forget(host)` makes
 * the next apply write everything again.
 */
import type { Host, Lab } from '../netns/lab.js';
import { sh } from '../netns/lab.js';

export const CHAOS_TABLE = 'weftchaos';
export const UNDERLAY_CIDR = '198.18.0.0/24';

export interface NetFaults {
  /** [from, to] host indices: packets from `from` to `to` are dropped at `from`. */
  cuts: Array<[from: number, to: number]>;
  /** Host index → percent of underlay packets dropped, each direction. */
  loss: Map<number, number>;
  /** Host index → link rate in kbit/s, each direction. */
  throttle: Map<number, number>;
}

export function noFaults(): NetFaults {
  return { cuts: [], loss: new Map(), throttle: new Map() };
}

export function isHealthy(f: NetFaults): boolean {
  return f.cuts.length === 0 && f.loss.size === 0 && f.throttle.size === 0;
}

/** Every directed cut between two groups of hosts (a symmetric partition). */
export function partitionCuts(groups: readonly (readonly number[])[]): Array<[number, number]> {
  const cuts: Array<[number, number]> = [];
  for (const [gi, g] of groups.entries())
    for (const [hi, h] of groups.entries()) {
      if (gi === hi) continue;
      for (const a of g) for (const b of h) cuts.push([a, b]);
    }
  return cuts;
}

/**
 * The `weftchaos` table of one host, or null when that host has no fault (the
 * table is then deleted). Drops only underlay traffic; loopback and the
 * overlay inside the host are never touched.
 */
export function renderRuleset(
  host: number,
  faults: NetFaults,
  ipOf: (host: number) => string,
): string | null {
  const dropTo = [...new Set(faults.cuts.filter(([a]) => a === host).map(([, b]) => ipOf(b)))].sort();
  const loss = faults.loss.get(host);
  if (dropTo.length === 0 && loss === undefined) return null;
  if (loss !== undefined && !(Number.isInteger(loss) && loss > 0 && loss < 100))
    throw new RangeError(`loss for host ${host} must be an integer percentage in 1..99, got ${loss}`);
  const out: string[] = [];
  const inn: string[] = [];
  if (dropTo.length > 0) out.push(`ip daddr { ${dropTo.join(', ')} } drop`);
  if (loss !== undefined) {
    out.push(`ip daddr ${UNDERLAY_CIDR} numgen random mod 100 < ${loss} drop`);
    inn.push(`ip saddr ${UNDERLAY_CIDR} numgen random mod 100 < ${loss} drop`);
  }
  const chain = (name: string, hook: string, rules: string[]) =>
    `  chain ${name} {\n    type filter hook ${hook} priority 0; policy accept;\n` +
    rules.map((r) => `    ${r}\n`).join('') +
    '  }\n';
  return (
    `table inet ${CHAOS_TABLE} {}\nflush table inet ${CHAOS_TABLE}\n` +
    `table inet ${CHAOS_TABLE} {\n${chain('out', 'output', out)}${chain('in', 'input', inn)}}\n`
  );
}

/** A short human description for the timeline. */
export function describeFaults(f: NetFaults): string {
  if (isHealthy(f)) return 'none';
  const parts: string[] = [];
  if (f.cuts.length) parts.push(`cuts ${f.cuts.map(([a, b]) => `h${a}↛h${b}`).join(' ')}`);
  for (const [h, p] of f.loss) parts.push(`loss h${h} ${p}%`);
  for (const [h, r] of f.throttle) parts.push(`throttle h${h} ${r} kbit/s`);
  return parts.join(', ');
}

/** tbf parameters for a rate: a burst of ~20 ms at that rate (at least 4 KB), 300 ms of queue. */
export function tbfArgs(kbit: number): string[] {
  const burstBytes = Math.max(4096, Math.round((kbit * 1000) / 8 / 50));
  return ['tbf', 'rate', `${kbit}kbit`, 'burst', String(burstBytes), 'latency', '300ms'];
}

export class NetFaultApplier {
  /** Host index → the ruleset text loaded (null = no table). */
  private readonly rules = new Map<number, string | null>();
  /** Host index → rate applied (absent = no qdisc of ours). */
  private readonly rates = new Map<number, number>();

  constructor(private readonly lab: Lab) {}

  /** Make the kernel match `faults` on every host in `hosts`. */
  async apply(faults: NetFaults, hosts: readonly Host[]): Promise<void> {
    const ipOf = (i: number) => this.lab.host(i).ip;
    for (const h of hosts) {
      const text = renderRuleset(h.index, faults, ipOf);
      if (this.rules.has(h.index) && this.rules.get(h.index) === text) continue;
      if (text === null)
        await sh('ip', ['netns', 'exec', h.ns, 'nft', 'delete', 'table', 'inet', CHAOS_TABLE]);
      else await this.lab.nft(h.ns, text);
      this.rules.set(h.index, text);
    }
    for (const h of hosts) {
      const rate = faults.throttle.get(h.index);
      if (rate === this.rates.get(h.index)) continue;
      const port = `p${h.index}`;
      if (rate === undefined) {
        await sh('ip', ['netns', 'exec', h.ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
        await sh('ip', ['netns', 'exec', this.lab.underlayNs, 'tc', 'qdisc', 'del', 'dev', port, 'root']);
        this.rates.delete(h.index);
      } else {
        await this.lab.mustExec(h.ns, 'tc', ['qdisc', 'replace', 'dev', 'eth0', 'root', ...tbfArgs(rate)]);
        await this.lab.mustExec(this.lab.underlayNs, 'tc', [
          'qdisc',
          'replace',
          'dev',
          port,
          'root',
          ...tbfArgs(rate),
        ]);
        this.rates.set(h.index, rate);
      }
    }
  }

  /** The host's namespace was re-created: nothing of ours is loaded there any more. */
  forget(host: number): void {
    this.rules.set(host, null);
    this.rates.delete(host);
  }
}
