/**
 * Run a program inside a network namespace without `ip netns exec`: the child
 * is forked by the calling thread while it is inside the namespace (see
 * netns.ts), so it starts there. Output is collected; the exit code returned.
 */
import { execFile } from 'node:child_process';
import type { NetnsRef } from './kernel-net.js';
import { withNetns } from './netns.js';

export interface ExecOutput {
  stdout: string;
  stderr: string;
  /** Exit code; -1 when killed (timeout) or the program could not start. */
  code: number;
  /** Set when the program could not start (e.g. ENOENT: not installed). */
  spawnError?: string;
}

export function execInNetns(
  netns: NetnsRef | undefined,
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ExecOutput> {
  return new Promise((resolve) => {
    const start = () =>
      execFile(
        cmd,
        args,
        { timeout: opts.timeoutMs ?? 10_000, maxBuffer: 32 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const out: ExecOutput = { stdout: String(stdout), stderr: String(stderr), code: 0 };
          if (error) {
            const code = (error as { code?: unknown }).code;
            out.code = typeof code === 'number' ? code : -1;
            if (typeof code === 'string') out.spawnError = code;
          }
          resolve(out);
        },
      );
    const child = netns ? withNetns(netns, start) : start();
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
