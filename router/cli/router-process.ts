/**
 * The background router of `weft launch` / `weft stop` / `weft reset`: started
 * detached (its own session, stdin closed, stdout and stderr appended to
 * <data dir>/router.log), found again through the pid file the router itself
 * keeps in its data dir (router.pid, see router/daemon/data-dir.ts), stopped
 * with SIGTERM (the router's graceful shutdown), SIGKILL only as a last resort.
 *
 * A pid file can outlive its router and the pid can be reused by another
 * program: a pid counts only while /proc/<pid>/cmdline is a `weft router`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WeftError } from '../../common/errors.js';
import { weftBin } from '../../common/version.js';
import { PID_FILE, processAlive } from '../daemon/data-dir.js';

export const LOG_FILE = 'router.log';

/** The pid of the weft router holding `dataDir`, or undefined when none runs. */
export function runningRouterPid(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(dataDir, PID_FILE), 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 1 || !processAlive(pid)) return undefined;
  return isWeftRouter(pid) ? pid : undefined;
}

function isWeftRouter(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('router') && argv.some((a) => /(^|\/)weft$/.test(a) || a.endsWith('/cli/main.js'));
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `pid` has exited; false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid) && isWeftRouter(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export type StopOutcome = { running: false } | { running: true; pid: number; killed: boolean };

/** SIGTERM, wait (the router forces its own exit after 5 s), then SIGKILL. */
export async function stopRouterProcess(dataDir: string, timeoutMs = 10_000): Promise<StopOutcome> {
  const pid = runningRouterPid(dataDir);
  if (pid === undefined) return { running: false };
  process.kill(pid, 'SIGTERM');
  if (await waitForExit(pid, timeoutMs)) return { running: true, pid, killed: false };
  process.kill(pid, 'SIGKILL');
  await waitForExit(pid, 2_000);
  return { running: true, pid, killed: true };
}

export interface DetachedRouter {
  pid: number;
  logPath: string;
  /** Set once the process has exited (launch watches it while waiting for the API). */
  exited(): { code: number | null; signal: string | null } | undefined;
}

/** Start `weft router <args>` in the background, logging to <data dir>/router.log. */
export function startDetachedRouter(dataDir: string, args: string[], env: NodeJS.ProcessEnv): DetachedRouter {
  const logPath = join(dataDir, LOG_FILE);
  const fd = openSync(logPath, 'a', 0o600);
  let exit: { code: number | null; signal: string | null } | undefined;
  try {
    const child = spawn(process.execPath, [weftBin(), 'router', ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env,
      cwd: '/',
    });
    if (child.pid === undefined) throw new WeftError('INTERNAL', `could not start ${weftBin()} router`);
    child.once('exit', (code, signal) => {
      exit = { code, signal };
    });
    child.unref();
    return { pid: child.pid, logPath, exited: () => exit };
  } finally {
    closeSync(fd);
  }
}

/**
 * Why a router that just exited did not start: its one-line error (stderr,
 * "weft: …"), else the message of its last error log line, else a pointer to the log.
 */
export function startupFailure(logPath: string, sinceByte: number): string {
  if (!existsSync(logPath)) return 'it exited at once';
  const text = readFileSync(logPath).subarray(sinceByte).toString('utf8');
  const lines = text.split('\n').filter(Boolean);
  const cli = lines.filter((l) => l.startsWith('weft: ')).pop();
  if (cli) return cli.slice('weft: '.length);
  for (const l of lines.reverse()) {
    try {
      const j = JSON.parse(l) as { level?: number; err?: unknown; msg?: string };
      if ((j.level ?? 0) >= 50) return `${j.msg ?? 'error'}${j.err ? `: ${String(j.err)}` : ''}`;
    } catch {
      /* not a log line */
    }
  }
  return `it exited; see ${logPath}`;
}
