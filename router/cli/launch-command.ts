/**
 * `weft launch [router flags] [peer…]`: check, start `weft router` in the
 * background, wait until it answers, then show progress until its direct
 * peers are connected and the address ring is ready.
 *
 *   1. the flags are validated exactly as `weft router` would (one-line errors);
 *   2. refused: a router already running on this data dir or answering on the
 *      API address, and an --ipalloc-range overlapping a host route;
 *   3. started detached, logging to <data dir>/router.log; a router that dies
 *      during start-up is reported with its own error line, exit 1;
 *   4. progress lines while peers connect and the ring forms, for --wait
 *      seconds (default 30). Past that the router keeps running and keeps
 *      trying (a ring needs a quorum of peers, which may not be launched
 *      yet): launch says what it is waiting for and exits 0.
 *
 * Peers that are addresses of this host are left out (the same `weft launch
 * host1 host2 host3` on every host is the usual way to start a cluster).
 *
 * --password is handed to the router in its environment (WEFT_PASSWORD), not
 * on its command line, where `ps` would show it.
 */
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { WeftError } from '../../common/errors.js';
import type { Cidr } from '../../common/ip.js';
import type { Report } from '../api/report.js';
import { prepareDataDir } from '../daemon/data-dir.js';
import { DEFAULT_DEVICES } from '../dataplane/devices.js';
import { ApiClient } from './api-client.js';
import { mustNotOverlapRoutes, splitOwnPeers } from './launch-checks.js';
import { launchProgress } from './launch-progress.js';
import { reachableAt } from './options.js';
import { routerConfigFrom } from './router-command.js';
import { addRouterOptions, type RouterCommandFlags, routerArgs } from './router-options.js';
import { LOG_FILE, runningRouterPid, startDetachedRouter, startupFailure } from './router-process.js';

const START_TIMEOUT_MS = 30_000;

type LaunchFlags = RouterCommandFlags & { wait: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The range must not overlap a host route; peers naming this host are dropped (returned: the others). */
async function checkHost(
  range: Cidr,
  peers: readonly string[],
  out: (line: string) => void,
): Promise<string[]> {
  const { openNetlinkKernel } = await import('../kernel/netlink-kernel.js');
  const kernel = openNetlinkKernel();
  try {
    const [routes, links, addresses] = await Promise.all([
      kernel.listRoutes(),
      kernel.listLinks(),
      kernel.listAddresses(),
    ]);
    mustNotOverlapRoutes(range, routes, links, Object.values(DEFAULT_DEVICES));
    const { others, own } = splitOwnPeers(peers, addresses);
    if (own.length > 0) out(`ignoring ${own.join(', ')}: an address of this host`);
    return others;
  } finally {
    kernel.close();
  }
}

export function registerLaunchCommand(program: Command): void {
  const cmd = program
    .command('launch')
    .description('start the weft router in the background and wait until it is ready')
    .argument('[peers...]', 'host[:port] of peers to connect to')
    .option(
      '--wait <seconds>',
      'how long to show progress for peers and the address ring (0: do not wait)',
      '30',
    );
  addRouterOptions(cmd).action(async (peers: string[], flags: LaunchFlags) => {
    const waitSeconds = Number(flags.wait);
    if (!(waitSeconds >= 0 && waitSeconds <= 3600))
      throw new WeftError('BAD_REQUEST', `--wait: want 0-3600 seconds, got ${JSON.stringify(flags.wait)}`);
    const { wait: _wait, ...given } = flags;
    // The API address the other commands will use (WEFT_HTTP_ADDR) is where the router should listen.
    const envAddr = process.env.WEFT_HTTP_ADDR;
    const routerFlags: RouterCommandFlags =
      given.httpAddr === undefined && envAddr ? { ...given, httpAddr: envAddr } : given;
    const { config, ipam } = routerConfigFrom(routerFlags, peers);
    const api = reachableAt(config.http);
    const client = new ApiClient(api, 3_000);

    const pid = runningRouterPid(config.dataDir);
    if (pid !== undefined)
      throw new WeftError(
        'BAD_REQUEST',
        `the router is already running (pid ${pid}, data dir ${config.dataDir})`,
      );
    if (await client.answers(1_000))
      throw new WeftError('BAD_REQUEST', `a router already answers at ${api} (stop it with weft stop)`);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const peersToDial = await checkHost(ipam.range, config.peers, out);

    prepareDataDir(config.dataDir);
    const logPath = `${config.dataDir}/${LOG_FILE}`;
    const logStart = existsSync(logPath) ? statSync(logPath).size : 0;
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (routerFlags.password !== undefined) env.WEFT_PASSWORD = routerFlags.password;
    const args = [
      ...routerArgs(routerFlags, { override: { dataDir: config.dataDir }, omit: ['password'] }),
      ...peersToDial,
    ];
    const router = startDetachedRouter(config.dataDir, args, env);
    out(`launching weft router (pid ${router.pid}, data dir ${config.dataDir}, log ${router.logPath})`);

    const deadline = Date.now() + START_TIMEOUT_MS;
    let report: Report | undefined;
    for (;;) {
      if (router.exited()) {
        throw new WeftError('INTERNAL', `the router did not start: ${startupFailure(logPath, logStart)}`);
      }
      report = await client.json<Report>('GET', '/report').catch(() => undefined);
      if (report) break;
      if (Date.now() > deadline) {
        throw new WeftError(
          'ROUTER_UNAVAILABLE',
          `the router (pid ${router.pid}) did not answer at ${api} within ${START_TIMEOUT_MS / 1000} s; see ${logPath}`,
        );
      }
      await sleep(150);
    }
    out(`router ${report.router.name}(${report.router.nickname}) answers at ${api}`);

    const waitUntil = Date.now() + waitSeconds * 1000;
    let last = '';
    for (;;) {
      const p = launchProgress(report);
      const line = `${p.mesh}; ${p.ring}`;
      if (line !== last) out(line);
      last = line;
      if (p.done) {
        out('ready');
        return;
      }
      if (Date.now() >= waitUntil) break;
      await sleep(500);
      report = (await client.json<Report>('GET', '/report').catch(() => undefined)) ?? report;
    }
    out(
      `still waiting after ${waitSeconds} s (${last}); the router keeps running and trying: ` +
        'launch the other peers, then check weft status',
    );
  });
}
