/**
 * CHECK, pure: compare what the kernel shows with the chain's final result
 * (prevResult). Later plugins may have changed things and recorded it there
 * (tuning sets a MAC, sbr moves routes to another table), so prevResult is
 * the truth we check against, and a route without a gateway is matched by its
 * destination alone (the reference plugins once failed CHECK on those).
 */
import { cidrNetwork, formatCidr, parseCidr } from '../common/ip.js';
import type { ObservedAttachment } from '../router/kernel/attach.js';
import type { InterfacePlan } from './plan.js';
import { type CniResult, ipFamily } from './spec/result.js';

function norm(dst: string): string {
  const c = parseCidr(dst, { host: true });
  return c ? formatCidr({ addr: cidrNetwork(c), prefix: c.prefix }) : dst;
}

/** Index of our container interface in prevResult, or -1. */
export function containerInterfaceIndex(prev: CniResult, ifname: string, netns: string): number {
  return prev.interfaces.findIndex((i) => i.name === ifname && (i.sandbox ?? '') === netns);
}

/** Addresses prevResult gives our container interface. */
export function ourAddresses(prev: CniResult, ifname: string, netns: string): string[] {
  const idx = containerInterfaceIndex(prev, ifname, netns);
  return prev.ips.filter((ip) => ip.interface === idx && idx >= 0).map((ip) => ip.address);
}

/** Everything that does not match; empty when the attachment is as recorded. */
export function attachmentProblems(prev: CniResult, plan: InterfacePlan, obs: ObservedAttachment): string[] {
  const problems: string[] = [];
  const idx = containerInterfaceIndex(prev, plan.containerIf, plan.netns);
  if (idx < 0) problems.push(`prevResult has no interface ${plan.containerIf} in sandbox ${plan.netns}`);

  if (!obs.bridge) problems.push(`bridge ${plan.bridge} does not exist`);
  if (!obs.host) problems.push(`host interface ${plan.hostVeth} does not exist`);
  else {
    if (obs.host.kind !== undefined && obs.host.kind !== 'veth')
      problems.push(`${plan.hostVeth} is not a veth`);
    if (obs.bridge && obs.host.masterIndex !== obs.bridge.index)
      problems.push(`${plan.hostVeth} is not attached to bridge ${plan.bridge}`);
  }
  const ctr = obs.container;
  if (!ctr) {
    problems.push(`interface ${plan.containerIf} does not exist in ${plan.netns}`);
    return problems;
  }
  if (ctr.kind !== undefined && ctr.kind !== 'veth') problems.push(`${plan.containerIf} is not a veth`);
  const recorded = idx >= 0 ? prev.interfaces[idx] : undefined;
  if (recorded?.mac && recorded.mac.toLowerCase() !== ctr.mac.toLowerCase())
    problems.push(`${plan.containerIf} has MAC ${ctr.mac}, prevResult says ${recorded.mac}`);

  const have = new Set(obs.containerAddresses);
  for (const a of ourAddresses(prev, plan.containerIf, plan.netns))
    if (ipFamily(a) === '4' && !have.has(a)) problems.push(`${plan.containerIf} lacks address ${a}`);

  const addrNets = new Set(obs.containerAddresses.map(norm));
  for (const r of prev.routes) {
    if (ipFamily(r.dst) !== '4') continue;
    const dst = norm(r.dst);
    const present =
      obs.containerRoutes.some((k) => norm(k.dst) === dst && (r.gw === undefined || k.gateway === r.gw)) ||
      // The prefix route of an address is the kernel's: it may carry a metric we did not choose.
      (r.gw === undefined && addrNets.has(dst));
    if (!present) problems.push(`route to ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing`);
  }
  return problems;
}
