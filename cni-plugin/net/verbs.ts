/**
 * weft-net's verbs: the plan (plan.ts) carried out through the kernel
 * adapter and an IPAM source, with the undo steps the spec demands.
 *
 *   ADD    bridge → veth pair (container end born in the netns) → IPAM ADD →
 *          addresses/routes inside → result. Any failure undoes what this
 *          call did, device first, then the address.
 *   DEL    delete the host veth by its deterministic name (no netns needed),
 *          then release the address. Everything already gone is success.
 *   CHECK  kernel state against prevResult, then IPAM CHECK.
 *   GC     remove our veths on the bridge that are not valid attachments,
 *          then IPAM GC; keeps going past individual failures.
 *   STATUS can an ADD succeed now (bridge present, IPAM ready)?
 */
import type { Logger } from '../../common/logger.js';
import {
  attachVeth,
  configureContainerInterface,
  detachVeth,
  isAlreadyAttached,
  listAttachedVeths,
  observeAttachment,
} from '../../router/kernel/attach.js';
import { attachmentProblems, ourAddresses } from '../check.js';
import { elapsedMs } from '../clock.js';
import { codeCacheState } from '../code-cache.js';
import { parseLogKeys, parseWeftNetConfig, type WeftNetConfig } from '../config.js';
import { delegateIpam } from '../ipam/delegate.js';
import type { HttpRequestFn } from '../ipam/http.js';
import { RouterIpam } from '../ipam/router-ipam.js';
import { type IpamSource, ipamContext } from '../ipam/source.js';
import { lineLogger } from '../log.js';
import { hostVethName, isHostVethName } from '../naming.js';
import { buildResult, planAddressing, planDns, planInterfaces } from '../plan.js';
import { requestedMac } from '../requested.js';
import type { Invocation, PluginVerbs } from '../skel.js';
import { CniCode, CniError } from '../spec/errors.js';
import { validAttachments } from '../spec/gc.js';
import { decodePrevResult } from '../spec/netconf.js';
import type { CniResult } from '../spec/result.js';
import type { ContainerNetns, KernelAccess } from './kernel-access.js';

export const WEFT_NET_VERSION = '0.1.0';

export interface NetDeps {
  kernel(): Promise<KernelAccess>;
  /** The IPAM source for this call (tests inject fakes). */
  ipam?(inv: Invocation, weft: WeftNetConfig): IpamSource;
  /** How the built-in IPAM reaches the router (default: node:net; the executable passes the weft_sys client). */
  http?: HttpRequestFn;
}

export function ipamFor(inv: Invocation, weft: WeftNetConfig, http?: HttpRequestFn): IpamSource {
  if (weft.ipam.kind === 'weft') return new RouterIpam(weft.ipam.config, http);
  return delegateIpam({
    type: weft.ipam.type,
    path: inv.env.path,
    env: inv.rawEnv,
    stdin: inv.stdin,
    cniVersion: inv.conf.cniVersion,
  });
}

function openContainer(k: KernelAccess, path: string): ContainerNetns {
  try {
    return k.openNetns(path);
  } catch (e) {
    throw new CniError(CniCode.INVALID_NETNS, `cannot open CNI_NETNS ${path}: ${(e as Error).message}`);
  }
}

const roundAll = (at: Record<string, number>) =>
  Object.fromEntries(Object.entries(at).map(([k, v]) => [k, Math.round(v * 10) / 10]));

/** Run `undo`, logging instead of throwing: the original failure is what the runtime must see. */
async function bestEffort(log: Logger, what: string, undo: () => Promise<unknown>): Promise<void> {
  try {
    await undo();
  } catch (e) {
    log.warn({ err: (e as Error).message }, `${what} failed while undoing a failed ADD`);
  }
}

export function weftNetVerbs(deps: NetDeps): PluginVerbs {
  const ipamOf = deps.ipam ?? ((inv: Invocation, weft: WeftNetConfig) => ipamFor(inv, weft, deps.http));

  async function withKernel<T>(fn: (k: KernelAccess) => Promise<T>): Promise<T> {
    const k = await deps.kernel();
    try {
      return await fn(k);
    } finally {
      k.close();
    }
  }

  async function add(inv: Invocation): Promise<CniResult> {
    const { env, conf, log } = inv;
    const weft = parseWeftNetConfig(conf);
    const plan = planInterfaces(env, weft, requestedMac(conf, inv.args));
    const ctx = ipamContext(inv, true);
    const ipam = ipamOf(inv, weft);
    // Milliseconds since the process started, per phase, for the log: the
    // plugin's own cost is what bench/cni.ts compares with a bare Node start.
    const at: Record<string, number> = { start: elapsedMs() };
    return withKernel(async (k) => {
      const ns = openContainer(k, env.netns);
      // The allocation (a round trip to the router, or a delegated plugin) runs
      // while the kernel work goes on; both must succeed.
      const allocation = ipam.add(ctx).then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const host = k.host();
      try {
        let attached: Awaited<ReturnType<typeof attachVeth>>;
        try {
          attached = await attachVeth(host, { ...plan, netns: ns.ref });
        } catch (e) {
          const alloc = await allocation;
          // With our host veth already there this attachment is live, and the
          // address IPAM answered with is that container's: keep it.
          if (alloc.ok && !isAlreadyAttached(e))
            await bestEffort(log, 'releasing the address', () => ipam.del(ctx));
          throw e;
        }
        at.vethAttached = elapsedMs();
        try {
          const alloc = await allocation;
          if (!alloc.ok) throw alloc.error;
          at.allocated = elapsedMs();
          const ipamResult = alloc.result;
          const bridgeAddrs = (await host.listAddresses(attached.bridge.index)).map((a) => a.cidr);
          const addressing = planAddressing(weft, ipamResult, {
            name: attached.bridge.name,
            mac: attached.bridge.mac,
            addresses: bridgeAddrs,
          });
          const ctr = await configureContainerInterface(
            ns.kernel(),
            plan.containerIf,
            addressing.addresses,
            addressing.kernelRoutes.map((r) => ({ dst: r.dst, ...(r.gw ? { gateway: r.gw } : {}) })),
          );
          at.configured = elapsedMs();
          log.info(
            {
              addresses: addressing.addresses,
              hostVeth: plan.hostVeth,
              mtu: attached.mtu,
              ms: roundAll(at),
              codeCache: codeCacheState(),
            },
            'attached',
          );
          return buildResult(
            env.netns,
            {
              bridge: { name: attached.bridge.name, mac: attached.bridge.mac },
              host: { name: attached.host.name, mac: attached.host.mac, mtu: attached.mtu },
              container: { name: ctr.name, mac: ctr.mac, mtu: ctr.mtu },
            },
            addressing,
            planDns(conf, ipamResult.dns),
          );
        } catch (e) {
          // Device first, then the address: releasing first could hand the
          // address to another container while this one still answers for it.
          await bestEffort(log, 'deleting the veth', () => detachVeth(host, plan.hostVeth));
          if ((await allocation).ok) await bestEffort(log, 'releasing the address', () => ipam.del(ctx));
          throw e;
        }
      } finally {
        ns.close();
      }
    });
  }

  async function del(inv: Invocation): Promise<void> {
    const { env, conf, log } = inv;
    const weft = parseWeftNetConfig(conf);
    const hostVeth = hostVethName(env.containerId, env.ifname);
    const at: Record<string, number> = { start: elapsedMs() };
    const detaching = withKernel(async (k) => {
      const removed = await detachVeth(k.host(), hostVeth);
      at.detached = elapsedMs();
      return removed;
    });
    // The router connection opens meanwhile; the release itself is sent only
    // once the device is gone, and not at all if removing it failed.
    const releasing = ipamOf(inv, weft).del(ipamContext(inv, false), { after: detaching });
    const [detached, released] = await Promise.allSettled([detaching, releasing]);
    if (detached.status === 'rejected') throw detached.reason;
    if (released.status === 'rejected') throw released.reason;
    at.released = elapsedMs();
    log.info(
      { hostVeth, removed: detached.value, ms: roundAll(at), codeCache: codeCacheState() },
      'detached',
    );
  }

  async function check(inv: Invocation): Promise<void> {
    const { env, conf } = inv;
    const weft = parseWeftNetConfig(conf);
    const prev = decodePrevResult(conf);
    if (!prev) throw new CniError(CniCode.INVALID_CONFIG, 'CHECK needs prevResult');
    const plan = planInterfaces(env, weft, undefined);
    await withKernel(async (k) => {
      const ns = openContainer(k, env.netns);
      try {
        const observed = await observeAttachment(k.host(), ns.kernel(), plan);
        const problems = attachmentProblems(prev, plan, observed);
        if (problems.length) throw new CniError(CniCode.CHECK_FAILED, problems[0]!, problems.join('; '));
      } finally {
        ns.close();
      }
    });
    await ipamOf(inv, weft).check(ipamContext(inv, false), ourAddresses(prev, env.ifname, env.netns));
  }

  async function gc(inv: Invocation): Promise<void> {
    const { conf, log } = inv;
    const weft = parseWeftNetConfig(conf);
    const valid = validAttachments(conf);
    const keep = new Set(valid.map((a) => hostVethName(a.containerId, a.ifname)));
    const failures: string[] = [];
    await withKernel(async (k) => {
      const host = k.host();
      for (const link of await listAttachedVeths(host, weft.bridge, isHostVethName)) {
        if (keep.has(link.name)) continue;
        try {
          await detachVeth(host, link.name);
          log.info({ hostVeth: link.name }, 'GC removed a stale veth');
        } catch (e) {
          failures.push(`${link.name}: ${(e as Error).message}`);
        }
      }
    });
    try {
      await ipamOf(inv, weft).gc(conf.name, valid);
    } catch (e) {
      failures.push(`IPAM: ${(e as Error).message}`);
    }
    if (failures.length)
      throw new CniError(CniCode.INTERNAL, 'GC left stale attachments behind', failures.join('; '));
  }

  async function status(inv: Invocation): Promise<void> {
    const weft = parseWeftNetConfig(inv.conf);
    if (weft.ipam.kind === 'weft') {
      const bridge = await withKernel(async (k) => k.host().getLink(weft.bridge));
      if (!bridge)
        throw new CniError(
          CniCode.PLUGIN_NOT_AVAILABLE,
          `bridge ${weft.bridge} does not exist: is the weft router running?`,
        );
    }
    await ipamOf(inv, weft).status();
  }

  return {
    name: 'weft-net',
    about: `CNI plugin weft-net v${WEFT_NET_VERSION}: attaches containers to the weft overlay (CNI 0.1.0–1.1.0)`,
    logger: (conf) => {
      const c = parseLogKeys(conf.raw);
      return lineLogger({ level: c.level, ...(c.file ? { file: c.file } : {}) });
    },
    add,
    del,
    check,
    gc,
    status,
  };
}
