/**
 * Running a CNI plugin the way a container runtime does (libcni): the plugin
 * executable from the CNI bin dir, the verb and the container in CNI_*
 * variables, the network configuration on stdin, the result (or error) as
 * JSON on stdout — inside the simulated host's namespace, with nothing else
 * in its environment but PATH. Only the first plugin of the conflist runs
 * (weft-net); the demo has no port mappings for `portmap` to do.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CniCall {
  command: 'ADD' | 'DEL' | 'CHECK';
  containerId: string;
  /** Namespace path, e.g. /var/run/netns/<name>. */
  netns: string;
  ifname: string;
}

export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: Array<{ type: string } & Record<string, unknown>>;
}

export function readConflist(path: string): CniConflist {
  return JSON.parse(readFileSync(path, 'utf8')) as CniConflist;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Exec the conflist's first plugin in `hostNs`; resolves to its parsed result, rejects with its error message. */
export function execCniPlugin(
  hostNs: string,
  binDir: string,
  conflist: CniConflist,
  call: CniCall,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const plugin = conflist.plugins[0]!;
  const conf = { ...plugin, name: conflist.name, cniVersion: conflist.cniVersion };
  const env = {
    PATH,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifname,
    CNI_PATH: binDir,
  };
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', hostNs, join(binDir, plugin.type)], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      let out: Record<string, unknown> | undefined;
      try {
        out = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        out = undefined;
      }
      if (code === 0) return resolve(out ?? {});
      const msg =
        typeof out?.msg === 'string' ? `${out.msg}${out.details ? `: ${String(out.details)}` : ''}` : '';
      reject(
        new Error(
          `${plugin.type} ${call.command} failed (${code}): ${msg || stderr.trim() || stdout.trim()}`,
        ),
      );
    });
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(conf));
  });
}
