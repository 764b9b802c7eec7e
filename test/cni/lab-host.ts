/**
 * One simulated host of a netns Lab prepared for CNI tests: a private copy of
 * the plugins, a runtime that runs them inside the host's namespace, and —
 * until a test brings a real router — the parts of the router the plugins
 * need: the `weft` bridge and a fake IPAM API listening inside the namespace.
 */

import { Netns, withNetns } from '../../router/kernel/netns.js';
import type { Host, Lab } from '../netns/lab.js';
import { buildTestPlugins, REFERENCE_PLUGINS, type TestPlugins } from './bundles.js';
import { FakeRouter } from './fake-router.js';
import { type Conflist, TestRuntime } from './runtime.js';

export const OVERLAY_MTU = 1376;

export class CniLabHost {
  readonly runtime: TestRuntime;
  router: FakeRouter | undefined;
  private apiPort = 0;
  private ns: Netns | undefined;
  private n = 0;

  private constructor(
    readonly lab: Lab,
    readonly host: Host,
    readonly plugins: TestPlugins,
  ) {
    this.runtime = new TestRuntime(host.ns, [plugins.binDir, REFERENCE_PLUGINS]);
  }

  static async create(
    lab: Lab,
    host: Host,
    opts: { fakeRouter?: boolean; plugins?: TestPlugins } = {},
  ): Promise<CniLabHost> {
    const h = new CniLabHost(lab, host, opts.plugins ?? buildTestPlugins());
    if (opts.fakeRouter ?? true) await h.startFakeRouter();
    return h;
  }

  /** What the router would have set up: its bridge with the overlay MTU, and the IPAM API. */
  async startFakeRouter(): Promise<void> {
    await this.lab.ipIn(this.host.ns, ['link', 'add', 'name', 'weft', 'type', 'bridge']);
    // Set after creation, so the MTU is the bridge's own and does not float with its ports.
    await this.lab.ipIn(this.host.ns, ['link', 'set', 'weft', 'mtu', String(OVERLAY_MTU), 'up']);
    this.router = new FakeRouter();
    await this.listenInside(0);
  }

  /** (Re)start the fake API inside the host namespace. */
  async listenInside(port: number): Promise<void> {
    this.ns ??= Netns.open(this.host.ns);
    let ready!: Promise<number>;
    withNetns(this.ns, () => {
      ready = this.router!.listen(port);
    });
    this.apiPort = await ready;
  }

  get routerAddr(): string {
    return this.router ? `127.0.0.1:${this.apiPort}` : '127.0.0.1:6784';
  }

  /** The default weft conflist pointed at this host's router. */
  conflist(
    extra: Record<string, unknown> = {},
    more: Conflist['plugins'] = [],
    cniVersion = '1.0.0',
  ): Conflist {
    return {
      cniVersion,
      name: 'weft',
      plugins: [{ type: 'weft-net', router: this.routerAddr, ...extra }, ...more],
    };
  }

  /** A fresh "container" namespace; returns its name and path. */
  async container(prefix = 'c'): Promise<{ name: string; path: string }> {
    const name = await this.lab.addNamespace(`${prefix}${this.host.index}x${this.n++}`);
    return { name, path: `/var/run/netns/${name}` };
  }

  /** Links in the host namespace whose names start with `prefix`. */
  async hostLinks(prefix = 'wfc'): Promise<string[]> {
    const out = await this.lab.ipIn(this.host.ns, ['-o', 'link', 'show']);
    return out
      .split('\n')
      .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
      .filter((n): n is string => !!n && n.startsWith(prefix));
  }

  async close(): Promise<void> {
    await this.router?.close();
    this.ns?.close();
    this.plugins.cleanup();
  }
}
