/**
 * The shell of `weft expose` / `weft hide`: read the bridge's addresses and
 * our nft table, plan (plan.ts), perform the steps through KernelNet and
 * Nftables. Idempotent: exposing what is exposed, or hiding what is hidden,
 * changes nothing and succeeds.
 *
 * Wiring (daemon or CLI, in the host's namespace):
 *   const kernel = openNetlinkKernel();             // router/kernel
 *   const nft = new Nftables();
 *   const plan = await exposeHost({ kernel, nft }, { bridge: 'weft', addresses: ['10.32.0.1/12'],
 *                                                   masquerade: true, range });
 *   … await hideHost({ kernel, nft }, { bridge: 'weft', addresses: [], range });  // hide / reset
 */
import { WeftError } from '../../common/errors.js';
import type { KernelNet } from '../kernel/kernel-net.js';
import type { Nftables } from '../kernel/nftables.js';
import {
  type ExposePlan,
  type ExposeRequest,
  type ExposeState,
  type ExposeStep,
  type HideRequest,
  planExpose,
  planHide,
} from './plan.js';
import { EXPOSE_TABLE, exposedSubnetsOf } from './ruleset.js';

export interface ExposeDeps {
  kernel: Pick<
    KernelNet,
    'getLink' | 'setLink' | 'listAddresses' | 'addAddress' | 'deleteAddress' | 'setSysctl'
  >;
  nft: Pick<Nftables, 'applyTable' | 'deleteTable' | 'listTable'>;
}

export async function readExposeState(deps: ExposeDeps, bridge: string): Promise<ExposeState> {
  const link = await deps.kernel.getLink(bridge);
  if (!link) {
    throw new WeftError(
      'NOT_FOUND',
      `there is no ${bridge} bridge: is the router running with its data plane?`,
      {
        bridge,
      },
    );
  }
  const addresses = await deps.kernel.listAddresses(bridge);
  const table = await deps.nft.listTable(EXPOSE_TABLE.family, EXPOSE_TABLE.name);
  return { bridgeAddresses: addresses.map((a) => a.cidr), masqueraded: exposedSubnetsOf(table) };
}

export async function runExposeSteps(deps: ExposeDeps, steps: readonly ExposeStep[]): Promise<void> {
  for (const s of steps) {
    switch (s.kind) {
      case 'link-up':
        await deps.kernel.setLink(s.dev, { up: true });
        break;
      case 'add-address':
        await deps.kernel.addAddress(s.dev, s.cidr, { existOk: true });
        break;
      case 'delete-address':
        await deps.kernel.deleteAddress(s.dev, s.cidr, { missingOk: true });
        break;
      case 'sysctl':
        await deps.kernel.setSysctl(s.key, s.value);
        break;
      case 'nft-apply':
        await deps.nft.applyTable(s.family, s.table, s.body);
        break;
      case 'nft-delete':
        await deps.nft.deleteTable(s.family, s.table, { missingOk: true });
        break;
    }
  }
}

export async function exposeHost(deps: ExposeDeps, req: ExposeRequest): Promise<ExposePlan> {
  const plan = planExpose(await readExposeState(deps, req.bridge), req);
  await runExposeSteps(deps, plan.steps);
  return plan;
}

export async function hideHost(deps: ExposeDeps, req: HideRequest): Promise<ExposePlan> {
  const plan = planHide(await readExposeState(deps, req.bridge), req);
  await runExposeSteps(deps, plan.steps);
  return plan;
}

/** For `weft reset`: remove our table even when the bridge is already gone. */
export async function removeExposeTable(deps: Pick<ExposeDeps, 'nft'>): Promise<boolean> {
  return deps.nft.deleteTable(EXPOSE_TABLE.family, EXPOSE_TABLE.name, { missingOk: true });
}
