/**
 * Options several subcommands share: where the router's API is
 * (--http-addr > WEFT_HTTP_ADDR > 127.0.0.1:6784) and where its data dir is
 * (--data-dir > /var/lib/weft), which holds router.pid and router.log.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { ROUTER_DEFAULTS } from '../daemon/config.js';
import { ApiClient, DEFAULT_HTTP_ADDR } from './api-client.js';
import { parseHttpAddr } from './router-config.js';

export interface HttpAddrOpts {
  httpAddr?: string;
}

export interface DataDirOpts {
  dataDir?: string;
}

export const httpAddrHelp = `router API address (env WEFT_HTTP_ADDR, default ${DEFAULT_HTTP_ADDR})`;

export function withHttpAddr(cmd: Command): Command {
  return cmd.option('--http-addr <host:port>', httpAddrHelp);
}

export function withDataDir(cmd: Command): Command {
  return cmd.option('--data-dir <dir>', `the router's data directory (default ${ROUTER_DEFAULTS.dataDir})`);
}

/** The API address the user chose, validated (a typo is one clear line, not a connection error). */
export function httpAddrOf(opts: HttpAddrOpts, env: NodeJS.ProcessEnv = process.env): string {
  const addr = opts.httpAddr ?? env.WEFT_HTTP_ADDR ?? DEFAULT_HTTP_ADDR;
  const flag =
    opts.httpAddr !== undefined ? '--http-addr' : env.WEFT_HTTP_ADDR ? 'WEFT_HTTP_ADDR' : '--http-addr';
  return reachableAt(parseHttpAddr(addr, flag));
}

/** Where to reach an API bound to `http`: a router bound to all addresses is reached on loopback. */
export function reachableAt(http: { host: string; port: number }): string {
  return `${http.host === '' || http.host === '0.0.0.0' ? '127.0.0.1' : http.host}:${http.port}`;
}

export function clientFor(opts: HttpAddrOpts): ApiClient {
  return new ApiClient(httpAddrOf(opts));
}

export function dataDirOf(opts: DataDirOpts, cwd = process.cwd()): string {
  const d = opts.dataDir ?? ROUTER_DEFAULTS.dataDir;
  return isAbsolute(d) ? d : resolve(cwd, d);
}
