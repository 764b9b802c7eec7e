/**
 * `weft router` flags → a validated `RouterConfig`. Pure (the environment and
 * the defaults that depend on the machine come in as arguments) so every bad
 * flag is tested without starting anything. Each error is a WeftError whose
 * message is the one line the CLI prints.
 */
import { isAbsolute, resolve } from 'node:path';
import { WeftError } from '../../common/errors.js';
import { parseIp } from '../../common/ip.js';
import type { LogLevel } from '../../common/logger.js';
import { mustParsePeerAddresses } from '../api/peer-address.js';
import { LOG_LEVELS, ROUTER_DEFAULTS, type RouterConfig } from '../daemon/config.js';
import { mustParsePeerName } from '../daemon/identity.js';
import { checkOverlayMtu } from '../dataplane/mtu.js';
import { splitHostPort } from '../transport/tcp.js';

/** Options as commander hands them over (strings, booleans). */
export interface RouterFlags {
  name?: string;
  nickname?: string;
  port?: string;
  host?: string;
  httpAddr?: string;
  metricsAddr?: string;
  dataDir?: string;
  password?: string;
  connLimit?: string;
  discovery?: boolean;
  logLevel?: string;
  /** commander's --no-fastdp */
  fastdp?: boolean;
  mtu?: string;
}

function bad(message: string): never {
  throw new WeftError('BAD_REQUEST', message);
}

function parsePort(s: string, flag: string, { allowZero = false } = {}): number {
  if (!/^[0-9]{1,5}$/.test(s)) bad(`${flag}: not a port number: ${JSON.stringify(s)}`);
  const n = Number(s);
  if (n > 65535 || (n === 0 && !allowZero)) bad(`${flag}: port out of range: ${s}`);
  return n;
}

function parseCount(s: string, flag: string): number {
  if (!/^[0-9]{1,9}$/.test(s)) bad(`${flag}: not a non-negative integer: ${JSON.stringify(s)}`);
  return Number(s);
}

function parseBindHost(s: string, flag: string): string {
  if (s === '' || parseIp(s) !== undefined) return s;
  return bad(`${flag}: not an IPv4 address: ${JSON.stringify(s)}`);
}

export function parseHttpAddr(s: string, flag = '--http-addr'): { host: string; port: number } {
  const hp = splitHostPort(s);
  if (!hp) bad(`${flag}: want host:port, got ${JSON.stringify(s)}`);
  return { host: parseBindHost(hp.host, flag), port: parsePort(String(hp.port), flag, { allowZero: true }) };
}

export function parseRouterConfig(
  flags: RouterFlags,
  peers: readonly string[],
  env: { WEFT_PASSWORD?: string | undefined },
  machine: { hostname: string; cwd: string },
): RouterConfig {
  const nickname = flags.nickname ?? machine.hostname;
  if (!/^[\x21-\x7e]{1,64}$/.test(nickname)) {
    bad(`--nickname: want 1-64 printable characters without spaces, got ${JSON.stringify(nickname)}`);
  }
  const logLevel = (flags.logLevel ?? ROUTER_DEFAULTS.logLevel) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    bad(`--log-level: want one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(flags.logLevel)}`);
  const dataDir = flags.dataDir ?? ROUTER_DEFAULTS.dataDir;
  if (dataDir === '') bad('--data-dir: must not be empty');
  const password = flags.password ?? env.WEFT_PASSWORD;
  return {
    name: flags.name === undefined ? undefined : mustParsePeerName(flags.name),
    nickname,
    port: flags.port === undefined ? ROUTER_DEFAULTS.port : parsePort(flags.port, '--port'),
    host: flags.host === undefined ? '' : parseBindHost(flags.host, '--host'),
    http: parseHttpAddr(flags.httpAddr ?? ROUTER_DEFAULTS.httpAddr),
    metrics:
      flags.metricsAddr === 'off'
        ? null
        : parseHttpAddr(flags.metricsAddr ?? ROUTER_DEFAULTS.metricsAddr, '--metrics-addr'),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(machine.cwd, dataDir),
    password: password === '' ? undefined : password,
    connLimit:
      flags.connLimit === undefined ? ROUTER_DEFAULTS.connLimit : parseCount(flags.connLimit, '--conn-limit'),
    discovery: flags.discovery ?? true,
    logLevel,
    peers: [...new Set(mustParsePeerAddresses(peers))],
    ...(flags.fastdp === false ? { fastdp: false } : {}),
    ...(flags.mtu !== undefined ? { mtu: parseMtu(flags.mtu) } : {}),
  };
}

function parseMtu(s: string): number {
  const n = /^[0-9]{1,6}$/.test(s) ? Number(s) : Number.NaN;
  const problem = checkOverlayMtu(n);
  if (problem?.kind === 'too-small') bad(`--mtu: at least ${problem.min}, got ${s}`);
  if (problem?.kind === 'too-large') bad(`--mtu: at most ${problem.max}, got ${s}`);
  if (problem) bad(`--mtu: not a number of bytes: ${JSON.stringify(s)}`);
  return n;
}
