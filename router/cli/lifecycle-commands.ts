/**
 * `weft stop` and `weft reset [--force]`.
 *
 * stop: SIGTERM to the router of the data dir (its pid file), wait for it to
 * exit. Not running is not an error (scripts run `weft stop; weft launch`):
 * it says so and exits 0.
 *
 * reset: make this host forget weft, without leaking its addresses:
 *   1. a running router hands its address space to live peers (DELETE /peer)
 *      and stops itself; we wait for it to exit;
 *   2. its state goes (the data dir's files), then the bridge and data-plane
 *      devices (with the wfa… veths of `weft attach`), then the expose table.
 * Refused without --force when the space cannot be handed over (router down
 * with state on disk, no other owner of the ring reachable (reset-checks.ts),
 * or the hand-over failed): the space would stay owned by a peer that no
 * longer exists until someone runs `weft rmpeer`. Running it
 * again after a reset does nothing and succeeds.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { isWeftError, WeftError } from '../../common/errors.js';
import type { Report } from '../api/report.js';
import { PID_FILE } from '../daemon/data-dir.js';
import { isAttachHostVeth } from '../host/attachment-ids.js';
import { DATABASE_FILE } from '../store/database.js';
import {
  clientFor,
  type DataDirOpts,
  dataDirOf,
  type HttpAddrOpts,
  withDataDir,
  withHttpAddr,
} from './options.js';
import { handOverProblem } from './reset-checks.js';
import { LOG_FILE, runningRouterPid, stopRouterProcess, waitForExit } from './router-process.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** The files a router keeps in its data dir (the database with its WAL, the pid file, the log). */
export const STATE_FILES = [
  DATABASE_FILE,
  `${DATABASE_FILE}-wal`,
  `${DATABASE_FILE}-shm`,
  `${DATABASE_FILE}-journal`,
  PID_FILE,
  LOG_FILE,
];

function hasState(dataDir: string): boolean {
  try {
    return readdirSync(dataDir).includes(DATABASE_FILE);
  } catch {
    return false;
  }
}

/** Only weft's own files: --data-dir pointed at a directory with other things in it loses nothing else. */
function removeState(dataDir: string): string[] {
  let present: string[];
  try {
    present = readdirSync(dataDir);
  } catch {
    return [];
  }
  const gone = STATE_FILES.filter((f) => present.includes(f));
  for (const f of gone) rmSync(join(dataDir, f), { force: true });
  return gone;
}

async function removeHostDevices(): Promise<void> {
  const [{ openNetlinkKernel }, { resetDataplane }, { Nftables }, { removeExposeTable }] = await Promise.all([
    import('../kernel/netlink-kernel.js'),
    import('../dataplane/subsystem.js'),
    import('../kernel/nftables.js'),
    import('../expose/index.js'),
  ]);
  const kernel = openNetlinkKernel();
  try {
    // Our attachments die with the bridge's state; CNI ones (wfc…) belong to the runtime, which DELs them.
    for (const l of await kernel.listLinks()) {
      if (isAttachHostVeth(l.name)) await kernel.deleteLink(l.index, { missingOk: true });
    }
    await resetDataplane(kernel);
  } finally {
    kernel.close();
  }
  if (await removeExposeTable({ nft: new Nftables() })) out('removed the expose table ip weft');
}

export function registerLifecycleCommands(program: Command): void {
  withDataDir(program.command('stop').description('stop the router started by weft launch')).action(
    async (opts: DataDirOpts) => {
      const dataDir = dataDirOf(opts);
      const r = await stopRouterProcess(dataDir);
      if (!r.running) out(`the router is not running (no live router pid in ${join(dataDir, PID_FILE)})`);
      else if (r.killed) out(`router ${r.pid} did not stop within 10 s after SIGTERM: killed`);
      else out(`router ${r.pid} stopped`);
    },
  );

  withHttpAddr(
    withDataDir(
      program
        .command('reset')
        .description(
          "hand this router's addresses to a live peer, stop it, and remove its state, bridge and rules",
        )
        .option('--force', 'reset even when the address space cannot be handed over'),
    ),
  ).action(async (opts: DataDirOpts & HttpAddrOpts & { force?: boolean }) => {
    const dataDir = dataDirOf(opts);
    const client = clientFor(opts);
    const force = opts.force === true;
    const report = await client.json<Report>('GET', '/report', undefined, 3_000).catch(() => undefined);
    const pid = runningRouterPid(dataDir);
    if (report) {
      const problem = handOverProblem(report.ipam);
      const later = `run weft rmpeer ${report.router.name} on a peer once one is up`;
      if (problem && !force) {
        throw new WeftError(
          'OWNERS_UNREACHABLE',
          `cannot hand the address space over: ${problem}; bring a peer up and reset again, or reset --force and ${later}`,
        );
      }
      if (problem) out(`${problem}; --force: resetting anyway (${later})`);
      try {
        const r = await client.json<{ heirs: string[]; addresses: number }>('DELETE', '/peer');
        out(
          r.heirs.length > 0
            ? `handed ${r.addresses} addresses to ${r.heirs.join(', ')}`
            : 'nothing to hand over (no ring yet, or this router was its only owner)',
        );
        // The router stops by itself once it has answered.
        if (pid !== undefined && !(await waitForExit(pid, 10_000))) await stopRouterProcess(dataDir);
      } catch (e) {
        if (!force) {
          const why = isWeftError(e) ? e.message : String(e);
          throw new WeftError(
            isWeftError(e) ? e.code : 'INTERNAL',
            `could not hand the address space over (${why}); fix that, or reset --force and then run weft rmpeer ${report.router.name} on a live peer`,
          );
        }
        out(
          `could not hand the address space over; --force: stopping anyway (run weft rmpeer ${report.router.name} on a live peer)`,
        );
        await stopRouterProcess(dataDir);
      }
    } else if (pid !== undefined) {
      if (!force)
        throw new WeftError(
          'ROUTER_UNAVAILABLE',
          `router ${pid} runs but does not answer at ${client.httpAddr}: give --http-addr, or reset --force`,
        );
      await stopRouterProcess(dataDir);
    } else if (hasState(dataDir) && !force) {
      throw new WeftError(
        'ROUTER_UNAVAILABLE',
        `the router is not running, so its address space cannot be handed to a peer: start it (weft launch) and reset again, or reset --force and run weft rmpeer on a live peer`,
      );
    }
    const gone = removeState(dataDir);
    if (gone.length > 0) out(`removed ${gone.join(', ')} from ${dataDir}`);
    await removeHostDevices();
    out('reset done');
  });
}
