/**
 * The process shell every weft CNI plugin runs in: environment → verb,
 * stdin → config, the spec's checks in the spec's order, one JSON document on
 * stdout (written synchronously: Node's piped stdout is asynchronous and a
 * result can be cut off at exit), errors as the spec's error JSON with a
 * non-zero exit. The verbs themselves are handed in, so the shell is tested
 * with fakes and the plugins share it.
 */
import type { Logger } from '../common/logger.js';
import { type CniArgs, COMMON_ARG_KEYS, parseCniArgs } from './spec/cni-args.js';
import { type CniEnv, parseEnv } from './spec/env.js';
import { CniCode, CniError, toCniErrorJson } from './spec/errors.js';
import { type NetConf, parseNetConf, versionRequested } from './spec/netconf.js';
import { type CniResult, encodeResult } from './spec/result.js';
import { CURRENT_VERSION, SUPPORTED_VERSIONS } from './spec/version.js';

export interface Invocation {
  readonly env: CniEnv;
  readonly conf: NetConf;
  readonly args: CniArgs;
  /** Exactly what came on stdin (delegated plugins get the same bytes). */
  readonly stdin: string;
  /** The whole environment we were started with (delegated plugins inherit it). */
  readonly rawEnv: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
}

export interface PluginVerbs {
  readonly name: string;
  readonly about: string;
  /** CNI_ARGS keys the plugin understands (others need IgnoreUnknown). */
  readonly argKeys?: readonly string[];
  /** The plugin's logger for this config (its own keys say where and how much). */
  logger(conf: NetConf): Logger;
  add(inv: Invocation): Promise<CniResult>;
  del(inv: Invocation): Promise<void>;
  check(inv: Invocation): Promise<void>;
  gc(inv: Invocation): Promise<void>;
  status(inv: Invocation): Promise<void>;
}

/** Everything the shell touches outside itself. */
export interface ProcessIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readStdin(): string;
  stdout(s: string): void;
  stderr(s: string): void;
  /** True when `path` is the plugin's own network namespace (false when it cannot be told). */
  isOwnNetns(path: string): boolean;
}

/** Run one CNI call; returns the exit code. */
export async function runPlugin(verbs: PluginVerbs, io: ProcessIo): Promise<number> {
  let errVersion: string = CURRENT_VERSION;
  let log: Logger | undefined;
  let stdin = '';
  try {
    const parsed = parseEnv(io.env);
    if (parsed.kind === 'about') {
      io.stderr(`${verbs.about}\n`);
      return 0;
    }
    const env = parsed.env;
    try {
      stdin = io.readStdin();
    } catch (e) {
      throw new CniError(CniCode.IO_FAILURE, `error reading from stdin: ${(e as Error).message}`);
    }
    if (env.command === 'VERSION') {
      const v = versionRequested(stdin) ?? CURRENT_VERSION;
      io.stdout(JSON.stringify({ cniVersion: v, supportedVersions: SUPPORTED_VERSIONS }));
      return 0;
    }
    errVersion = versionRequested(stdin) ?? CURRENT_VERSION;
    const conf = parseNetConf(stdin, env.command);
    errVersion = conf.cniVersion;
    const needsNetnsCheck = env.command === 'ADD' || env.command === 'CHECK' || env.command === 'DEL';
    if (needsNetnsCheck && env.netns !== '' && !env.netnsOverride && io.isOwnNetns(env.netns))
      throw new CniError(CniCode.INVALID_NETNS, "CNI_NETNS is the plugin's own network namespace", env.netns);
    log = verbs
      .logger(conf)
      .child({ plugin: verbs.name, cmd: env.command, id: env.containerId, ifname: env.ifname });
    let args: CniArgs;
    try {
      args = parseCniArgs(env.args, verbs.argKeys ?? COMMON_ARG_KEYS);
    } catch (e) {
      // DEL must be able to clean up whatever the runtime passes; it needs no arguments.
      if (env.command !== 'DEL') throw e;
      log.warn({ err: (e as Error).message }, 'ignoring unparseable CNI_ARGS on DEL');
      args = parseCniArgs(undefined);
    }
    const inv: Invocation = { env, conf, args, stdin, rawEnv: io.env, log };
    switch (env.command) {
      case 'ADD': {
        const result = await verbs.add(inv);
        io.stdout(JSON.stringify(encodeResult(result, conf.cniVersion)));
        return 0;
      }
      case 'DEL':
        await verbs.del(inv);
        return 0;
      case 'CHECK':
        await verbs.check(inv);
        return 0;
      case 'GC':
        await verbs.gc(inv);
        return 0;
      case 'STATUS':
        await verbs.status(inv);
        return 0;
    }
  } catch (e) {
    const doc = toCniErrorJson(e, errVersion);
    // For the operator (stderr or logFile); the runtime reads the document on stdout.
    log?.warn({ code: doc.code, err: doc.msg, ...(doc.details ? { details: doc.details } : {}) }, 'failed');
    io.stdout(JSON.stringify(doc));
    return 1;
  }
}
