/**
 * A small CNI runtime for tests, doing what libcni does with a conflist:
 * plugins run in order for ADD with each one's result as the next one's
 * prevResult, in reverse for DEL, with the final result as prevResult for
 * CHECK and DEL, and `runtimeConfig` carrying only the capabilities each
 * plugin declares. Plugins run as real processes inside a host namespace
 * (`ip netns exec`), with only CNI variables and PATH in their environment.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnCollect } from './spawn.js';

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> }>;
  [key: string]: unknown;
}

export interface Attachment {
  containerId: string;
  /** Namespace path ("/var/run/netns/x"); empty for DEL without a netns. */
  netns: string;
  ifname: string;
  args?: string;
  /** Capability arguments, e.g. {portMappings: [...], bandwidth: {...}}. */
  capabilities?: Record<string, unknown>;
}

export interface PluginRun {
  plugin: string;
  code: number;
  out: Record<string, unknown> | undefined;
  stdout: string;
  stderr: string;
  ms: number;
}

export class CniError extends Error {
  constructor(readonly run: PluginRun) {
    super(`${run.plugin} failed (${run.code}): ${run.stdout.trim() || run.stderr.trim()}`);
  }
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class TestRuntime {
  constructor(
    /** Network namespace the plugins run in (the simulated host). */
    readonly hostNs: string,
    /** CNI_PATH directories, searched in order. */
    readonly path: string[],
  ) {}

  private find(type: string): string {
    for (const d of this.path) if (existsSync(join(d, type))) return join(d, type);
    throw new Error(`plugin ${type} not found in ${this.path.join(':')}`);
  }

  /**
   * Run one plugin once. Never rejects: the caller looks at `code`. `wrap` is
   * put in front of the plugin's path (e.g. /usr/bin/time for the bench).
   */
  exec(
    type: string,
    command: string,
    att: Partial<Attachment>,
    stdin: unknown,
    wrap: string[] = [],
  ): Promise<PluginRun> {
    const env: Record<string, string> = { PATH, CNI_COMMAND: command, CNI_PATH: this.path.join(':') };
    if (att.containerId) env.CNI_CONTAINERID = att.containerId;
    if (att.netns) env.CNI_NETNS = att.netns;
    if (att.ifname) env.CNI_IFNAME = att.ifname;
    if (att.args) env.CNI_ARGS = att.args;
    return this.spawnIn(
      type,
      [...wrap, this.find(type)],
      env,
      typeof stdin === 'string' ? stdin : JSON.stringify(stdin),
    );
  }

  /** Run any command in the host namespace the same way plugins run (for baselines). */
  execRaw(argv: string[]): Promise<PluginRun> {
    return this.spawnIn(argv[0]!, argv, { PATH }, '');
  }

  private async spawnIn(
    label: string,
    argv: string[],
    env: Record<string, string>,
    stdin: string,
  ): Promise<PluginRun> {
    const r = await spawnCollect('ip', ['netns', 'exec', this.hostNs, ...argv], { env, stdin });
    let out: Record<string, unknown> | undefined;
    try {
      out = r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
    } catch {
      out = undefined;
    }
    return { plugin: label, out, ...r };
  }

  /** The config one plugin of the list sees (libcni's buildOneConfig). */
  static pluginConfig(
    list: Conflist,
    i: number,
    att: Partial<Attachment>,
    prevResult?: unknown,
  ): Record<string, unknown> {
    const p = list.plugins[i]!;
    const conf: Record<string, unknown> = { ...p, name: list.name, cniVersion: list.cniVersion };
    const rc: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(p.capabilities ?? {}))
      if (on && att.capabilities && cap in att.capabilities) rc[cap] = att.capabilities[cap];
    if (Object.keys(rc).length) conf.runtimeConfig = rc;
    if (prevResult !== undefined) conf.prevResult = prevResult;
    return conf;
  }

  async add(
    list: Conflist,
    att: Attachment,
  ): Promise<{ result: Record<string, unknown>; runs: PluginRun[] }> {
    let prev: Record<string, unknown> | undefined;
    const runs: PluginRun[] = [];
    for (let i = 0; i < list.plugins.length; i++) {
      const r = await this.exec(
        list.plugins[i]!.type,
        'ADD',
        att,
        TestRuntime.pluginConfig(list, i, att, prev),
      );
      runs.push(r);
      if (r.code !== 0 || !r.out) throw new CniError(r);
      prev = r.out;
    }
    return { result: prev!, runs };
  }

  /** CHECK every plugin in order with the chain's final result. */
  check(list: Conflist, att: Attachment, result: unknown): Promise<PluginRun[]> {
    return this.each(
      list,
      att,
      'CHECK',
      result,
      list.plugins.map((_, i) => i),
    );
  }

  /** DEL every plugin in reverse order, with the final result when the runtime still has it. */
  del(list: Conflist, att: Attachment, result?: unknown): Promise<PluginRun[]> {
    return this.each(list, att, 'DEL', result, list.plugins.map((_, i) => i).reverse());
  }

  private async each(
    list: Conflist,
    att: Attachment,
    command: string,
    result: unknown,
    order: number[],
  ): Promise<PluginRun[]> {
    const runs: PluginRun[] = [];
    for (const i of order) {
      const r = await this.exec(
        list.plugins[i]!.type,
        command,
        att,
        TestRuntime.pluginConfig(list, i, att, result),
      );
      runs.push(r);
      if (r.code !== 0) throw new CniError(r);
    }
    return runs;
  }
}
