/**
 * weft-ipam: the weft ring as a standalone IPAM plugin, so that other main
 * plugins (the reference `bridge`, `macvlan`, …) take addresses from it.
 * Modelled on host-local: state per (network, container, ifname) — kept by the
 * router —, ADD for an attachment that already holds an address is an error,
 * DEL releases everything and succeeds when there is nothing, and no verb
 * ever needs the container's namespace.
 */

import { ourAddresses } from '../check.js';
import { parseLogKeys, parseWeftIpamConfig } from '../config.js';
import type { HttpRequestFn } from '../ipam/http.js';
import { RouterIpam } from '../ipam/router-ipam.js';
import { ipamContext } from '../ipam/source.js';
import { lineLogger } from '../log.js';
import type { Invocation, PluginVerbs } from '../skel.js';
import { CniCode, CniError } from '../spec/errors.js';
import { validAttachments } from '../spec/gc.js';
import { decodePrevResult } from '../spec/netconf.js';
import type { CniResult } from '../spec/result.js';

export const WEFT_IPAM_VERSION = '0.1.0';

function section(inv: Invocation): Readonly<Record<string, unknown>> {
  return inv.conf.ipam ?? {};
}

export interface IpamDeps {
  /** How to reach the router (default: node:net; the executable passes the weft_sys client). */
  readonly http?: HttpRequestFn;
}

export function weftIpamVerbs(deps: IpamDeps = {}): PluginVerbs {
  const routerIpam = (inv: Invocation) => new RouterIpam(parseWeftIpamConfig(section(inv)), deps.http);
  return {
    name: 'weft-ipam',
    about: `CNI IPAM plugin weft-ipam v${WEFT_IPAM_VERSION}: addresses from the weft ring (CNI 0.1.0–1.1.0)`,
    logger: (conf) => {
      const c = parseLogKeys(conf.ipam ?? {});
      return lineLogger({ level: c.level, ...(c.file ? { file: c.file } : {}) });
    },
    async add(inv): Promise<CniResult> {
      const ipam = routerIpam(inv);
      const ctx = ipamContext(inv, true);
      const held = await ipam.lookup(ctx);
      if (held.length > 0)
        throw new CniError(
          CniCode.ALREADY_ALLOCATED,
          `${inv.env.containerId}/${inv.env.ifname} already has ${held.join(', ')} on network ${inv.conf.name}`,
          'DEL it first; duplicate allocation is not allowed',
        );
      const r = await ipam.add(ctx);
      inv.log.info({ addresses: r.ips.map((i) => i.address) }, 'allocated');
      return { ...r, dns: { ...r.dns, ...inv.conf.dns } };
    },
    async del(inv) {
      await routerIpam(inv).del(ipamContext(inv, false));
    },
    async check(inv) {
      const ipam = routerIpam(inv);
      const ctx = ipamContext(inv, false);
      const prev = decodePrevResult(inv.conf);
      const expected = prev ? ourAddresses(prev, inv.env.ifname, inv.env.netns) : [];
      if (expected.length > 0) return ipam.check(ctx, expected);
      if ((await ipam.lookup(ctx)).length === 0)
        throw new CniError(CniCode.CHECK_FAILED, `${inv.env.containerId}/${inv.env.ifname} holds no address`);
    },
    async gc(inv) {
      await routerIpam(inv).gc(inv.conf.name, validAttachments(inv.conf));
    },
    async status(inv) {
      await routerIpam(inv).status();
    },
  };
}
