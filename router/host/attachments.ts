/**
 * `weft ps` (GET /attachments): who is attached to this host's bridge, with
 * which MAC and addresses. Two sources, joined by the names both sides derive
 * from an attachment's identity (cni-plugin/naming.ts, router/cli/attachment-ids.ts):
 *
 *   IPAM allocations of this router      cni:<net>:<ctr>:<if>  → host veth wfc…
 *                                        attach:<key>          → host veth wfa…
 *                                        weft:expose           → the bridge itself
 *   ports of the bridge (wfc…/wfa… veths) and the bridge's forwarding table
 *
 * The container's MAC is not visible from the host namespace (it is the
 * other end of the veth); the bridge learns it from the first frame the
 * container sends, so it is the learned (dynamic) entry on that port, and
 * null for a container that has not sent anything for the bridge's ageing
 * time. A row whose device is missing (the container died without a DEL or
 * detach) or whose address is missing (an interrupted attach) says so: both
 * are leaks an operator may want to clean up.
 */
import { hostVethName, isHostVethName, parseAllocationId } from '../../cni-plugin/naming.js';
import type { FdbInfo, Link } from '../kernel/kernel-net.js';
import { attachHostVeth, attachKeyOf, EXPOSE_ID, isAttachHostVeth } from './attachment-ids.js';

export type AttachmentKind = 'cni' | 'attach' | 'expose' | 'other' | 'unknown';
export type AttachmentState = 'attached' | 'no-device' | 'no-address';

export interface AttachmentRow {
  /** The IPAM allocation id ("-" for a device without an allocation). */
  id: string;
  kind: AttachmentKind;
  /** CNI: the runtime's container id; attach: the Docker id or namespace key. */
  container?: string;
  ifname?: string;
  network?: string;
  /** The host-side device: the veth on the bridge, or the bridge for weft:expose. */
  device: string | null;
  /** The container interface's MAC (the bridge's own for weft:expose), null when not known. */
  mac: string | null;
  /** "ip/len", as allocated. */
  addresses: string[];
  state: AttachmentState;
}

export interface AttachmentFacts {
  allocations: ReadonlyArray<{ containerId: string; address: string }>;
  /** The bridge, or undefined when there is none (router without its data plane, or reset). */
  bridge: Link | undefined;
  links: readonly Link[];
  /** The bridge's forwarding entries (master). */
  fdb: readonly FdbInfo[];
}

function learnedMac(port: Link, fdb: readonly FdbInfo[]): string | null {
  const learned = fdb.filter(
    (e) => e.where === 'master' && e.linkIndex === port.index && e.state === 'dynamic' && e.mac !== port.mac,
  );
  return learned[0]?.mac ?? null;
}

interface Identity {
  kind: AttachmentKind;
  device?: string;
  container?: string;
  ifname?: string;
  network?: string;
}

function identify(id: string, bridgeName: string | undefined): Identity {
  if (id === EXPOSE_ID) return { kind: 'expose', ...(bridgeName ? { device: bridgeName } : {}) };
  const cni = parseAllocationId(id);
  if (cni) {
    return {
      kind: 'cni',
      device: hostVethName(cni.containerId, cni.ifname),
      container: cni.containerId,
      ifname: cni.ifname,
      network: cni.network,
    };
  }
  const key = attachKeyOf(id);
  if (key !== undefined)
    return { kind: 'attach', device: attachHostVeth(key), container: key, ifname: 'ethwe' };
  return { kind: 'other' };
}

/** Pure: the rows of `weft ps`, allocations first (sorted by id), then devices nobody allocated for. */
export function joinAttachments(facts: AttachmentFacts): AttachmentRow[] {
  const bridge = facts.bridge;
  const ports = new Map(
    facts.links
      .filter(
        (l) =>
          bridge && l.masterIndex === bridge.index && (isHostVethName(l.name) || isAttachHostVeth(l.name)),
      )
      .map((l) => [l.name, l]),
  );
  const byId = new Map<string, string[]>();
  for (const a of facts.allocations) {
    const list = byId.get(a.containerId) ?? [];
    list.push(a.address);
    byId.set(a.containerId, list);
  }
  const rows: AttachmentRow[] = [];
  const claimed = new Set<string>();
  for (const id of [...byId.keys()].sort()) {
    const who = identify(id, bridge?.name);
    const addresses = byId.get(id)!;
    let device: string | null = null;
    let mac: string | null = null;
    if (who.kind === 'expose' && bridge) {
      device = bridge.name;
      mac = bridge.mac;
    } else if (who.device && ports.has(who.device)) {
      const port = ports.get(who.device)!;
      claimed.add(port.name);
      device = port.name;
      mac = learnedMac(port, facts.fdb);
    }
    rows.push({
      id,
      kind: who.kind,
      ...(who.container !== undefined ? { container: who.container } : {}),
      ...(who.ifname !== undefined ? { ifname: who.ifname } : {}),
      ...(who.network !== undefined ? { network: who.network } : {}),
      device,
      mac,
      addresses,
      // An allocation of some other client (not ours to interpret) is just listed.
      state: device !== null || who.kind === 'other' ? 'attached' : 'no-device',
    });
  }
  for (const port of [...ports.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (claimed.has(port.name)) continue;
    rows.push({
      id: '-',
      kind: 'unknown',
      device: port.name,
      mac: learnedMac(port, facts.fdb),
      addresses: [],
      state: 'no-address',
    });
  }
  return rows;
}
