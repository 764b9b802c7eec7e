/**
 * Delegated IPAM: run the plugin named in `ipam.type` from CNI_PATH with our
 * own environment (only CNI_COMMAND changed) and the whole network config on
 * stdin, as libcni's invoke package does. Its error document is passed on with
 * its own code; anything unparseable becomes DELEGATE_FAILED.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { nodeChildProcess } from '../lazy.js';
import { CniCode, CniError } from '../spec/errors.js';
import { type CniResult, decodeResult } from '../spec/result.js';
import type { CniCommand, CniVersion } from '../spec/version.js';
import type { IpamSource } from './source.js';

/** IPAM plugins answer in milliseconds; `dhcp` can take seconds. Never wait forever. */
export const DELEGATE_TIMEOUT_MS = 60_000;

export interface DelegateOptions {
  readonly type: string;
  readonly path: readonly string[];
  /** The environment we were started with. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The exact bytes we got on stdin. */
  readonly stdin: string;
  readonly cniVersion: CniVersion;
  readonly timeoutMs?: number;
}

export function findPlugin(type: string, path: readonly string[]): string {
  if (type.includes('/') || type === '.' || type === '..')
    throw new CniError(CniCode.INVALID_CONFIG, `invalid plugin type ${JSON.stringify(type)}`);
  for (const dir of path) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      /* not in this directory */
    }
  }
  throw new CniError(
    CniCode.DELEGATE_FAILED,
    `failed to find plugin ${JSON.stringify(type)} in path [${path.join(' ')}]`,
  );
}

/** Run the delegate; the parsed stdout on success (undefined when it printed nothing). */
export async function execDelegate(opts: DelegateOptions, command: CniCommand): Promise<unknown> {
  const bin = findPlugin(opts.type, opts.path);
  // Loaded on first use: only delegating configs pay for node:child_process.
  const { spawnSync } = nodeChildProcess();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
  env.CNI_COMMAND = command;
  const r = spawnSync(bin, [], {
    input: opts.stdin,
    env,
    timeout: opts.timeoutMs ?? DELEGATE_TIMEOUT_MS,
    maxBuffer: 4 * 1024 * 1024,
    encoding: 'utf8',
  });
  // A plugin may exit without reading its stdin; the broken pipe is not its failure.
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'EPIPE')
    throw new CniError(CniCode.DELEGATE_FAILED, `running ${opts.type} failed: ${r.error.message}`);
  const out = r.stdout.trim();
  let doc: unknown;
  if (out !== '') {
    try {
      doc = JSON.parse(out);
    } catch {
      throw new CniError(
        CniCode.DELEGATE_FAILED,
        `${opts.type} printed something that is not JSON`,
        out.slice(0, 200),
      );
    }
  }
  if (r.status !== 0) {
    const e = doc as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
    if (e && typeof e.code === 'number' && typeof e.msg === 'string')
      throw new CniError(e.code, e.msg, typeof e.details === 'string' ? e.details : undefined);
    throw new CniError(
      CniCode.DELEGATE_FAILED,
      `${opts.type} ${command} failed (exit ${r.status ?? r.signal})`,
      r.stderr.trim().slice(0, 200) || undefined,
    );
  }
  return doc;
}

export function delegateIpam(opts: DelegateOptions): IpamSource {
  return {
    async add(): Promise<CniResult> {
      const doc = await execDelegate(opts, 'ADD');
      if (doc === undefined)
        throw new CniError(CniCode.DELEGATE_FAILED, `${opts.type} ADD printed no result`);
      const r = decodeResult(doc, opts.cniVersion, CniCode.DELEGATE_FAILED, `${opts.type} result`);
      // An IPAM plugin knows nothing about interfaces: the caller assigns them.
      return { ...r, interfaces: [], ips: r.ips.map(({ interface: _drop, ...ip }) => ip) };
    },
    async del(_ctx, o) {
      await o?.after;
      await execDelegate(opts, 'DEL');
    },
    async check() {
      await execDelegate(opts, 'CHECK');
    },
    async gc() {
      await execDelegate(opts, 'GC');
    },
    async status() {
      await execDelegate(opts, 'STATUS');
    },
  };
}
