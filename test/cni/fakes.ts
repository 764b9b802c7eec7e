/**
 * Fakes for the weft-net verbs: a KernelAccess over the kernel helper's
 * in-memory FakeKernelWorld (host namespace + container namespaces by path),
 * and an in-memory IPAM source that can be "down". Both log into the world's
 * call list, so tests can assert the order of kernel and IPAM operations.
 */

import type { IpamContext, IpamSource } from '../../cni-plugin/ipam/source.js';
import type { KernelAccess } from '../../cni-plugin/net/kernel-access.js';
import { weftNetVerbs } from '../../cni-plugin/net/verbs.js';
import { type ProcessIo, runPlugin } from '../../cni-plugin/skel.js';
import { CniCode, CniError } from '../../cni-plugin/spec/errors.js';
import type { Attachment } from '../../cni-plugin/spec/gc.js';
import { type CniResult, emptyResult } from '../../cni-plugin/spec/result.js';
import { WeftError } from '../../common/errors.js';
import { nullLogger } from '../../common/logger.js';
import { FakeKernelWorld } from '../../router/kernel/fake-kernel.js';
import { kernelErrno } from '../../router/kernel/kernel-errors.js';
import type { KernelNet, NetnsRef } from '../../router/kernel/kernel-net.js';

export class FakeHost {
  readonly world = new FakeKernelWorld();
  readonly host: { ref: NetnsRef; kernel: KernelNet };
  private readonly containers = new Map<string, { ref: NetnsRef; kernel: KernelNet }>();
  /** Paths whose namespace is gone (opening them fails with ENOENT). */
  readonly vanished = new Set<string>();

  constructor() {
    this.host = this.world.createNamespace('host');
  }

  container(path: string): { ref: NetnsRef; kernel: KernelNet } {
    let c = this.containers.get(path);
    if (!c) {
      c = this.world.createNamespace(path);
      this.containers.set(path, c);
    }
    return c;
  }

  /** The container's namespace disappears: its veth ends go with it. */
  async vanish(path: string, ifnames: string[] = ['eth0']): Promise<void> {
    const c = this.containers.get(path);
    if (c) for (const n of ifnames) await c.kernel.deleteLink(n, { missingOk: true });
    this.vanished.add(path);
  }

  access(): KernelAccess {
    return {
      host: () => this.host.kernel,
      openNetns: (path) => {
        if (this.vanished.has(path) || !this.containers.has(path))
          throw kernelErrno('open netns', 'ENOENT', { path });
        const c = this.containers.get(path)!;
        return { ref: c.ref, kernel: () => c.kernel, close: () => {} };
      },
      close: () => {},
    };
  }

  /** Names of the ordered operations that matter for undo order. */
  ops(): string[] {
    return this.world.calls.map((c) => `${c.ns}:${c.method}`);
  }
}

export class FakeIpam implements IpamSource {
  readonly held = new Map<string, string>();
  down = false;
  private next = 5;
  readonly gcCalls: Array<{ network: string; valid: readonly Attachment[] }> = [];

  constructor(private readonly log?: FakeHost) {}

  private key(ctx: IpamContext): string {
    return `${ctx.network}/${ctx.containerId}/${ctx.ifname}`;
  }

  private enter(method: string, args: unknown[]): void {
    this.log?.world.calls.push({ ns: 'ipam', method, args });
    if (this.down)
      throw new WeftError(
        'ROUTER_UNAVAILABLE',
        'weft router at 127.0.0.1:6784 is not reachable: ECONNREFUSED',
      );
  }

  async add(ctx: IpamContext): Promise<CniResult> {
    this.enter('add', [this.key(ctx)]);
    const address = this.held.get(this.key(ctx)) ?? `10.32.0.${this.next++}/12`;
    this.held.set(this.key(ctx), address);
    return { ...emptyResult(), ips: [{ address }] };
  }

  async del(ctx: IpamContext, opts: { after?: Promise<unknown> } = {}): Promise<void> {
    await opts.after;
    this.enter('del', [this.key(ctx)]);
    this.held.delete(this.key(ctx));
  }

  async check(ctx: IpamContext, prev: readonly string[]): Promise<void> {
    this.enter('check', [this.key(ctx)]);
    const a = this.held.get(this.key(ctx));
    if (!a || prev.some((p) => p !== a)) throw new CniError(CniCode.CHECK_FAILED, 'not held');
  }

  async gc(network: string, valid: readonly Attachment[]): Promise<void> {
    this.enter('gc', [network]);
    this.gcCalls.push({ network, valid });
    const keep = new Set(valid.map((a) => `${network}/${a.containerId}/${a.ifname}`));
    for (const k of [...this.held.keys()])
      if (k.startsWith(`${network}/`) && !keep.has(k)) this.held.delete(k);
  }

  async status(): Promise<void> {
    if (this.down) throw new CniError(CniCode.PLUGIN_NOT_AVAILABLE, 'router down');
  }
}

export interface CniCall {
  code: number;
  out: unknown;
}

/** Run weft-net's verbs through the real shell with fake kernel and IPAM. */
export async function callWeftNet(
  fake: FakeHost,
  ipam: FakeIpam,
  env: Record<string, string | undefined>,
  conf: Record<string, unknown>,
): Promise<CniCall> {
  const outs: string[] = [];
  const io: ProcessIo = {
    env,
    readStdin: () => JSON.stringify(conf),
    stdout: (s) => outs.push(s),
    stderr: () => {},
    isOwnNetns: () => false,
  };
  const verbs = weftNetVerbs({ kernel: async () => fake.access(), ipam: () => ipam });
  const code = await runPlugin({ ...verbs, logger: () => nullLogger }, io);
  return { code, out: outs.length ? JSON.parse(outs.join('')) : undefined };
}
