/**
 * What `weft attach <target>` / `weft detach <target>` accept, and how each
 * becomes a network namespace to put an interface in:
 *
 *   /path/to/netns, netns:/path   a namespace file (bind mount or /proc/<pid>/ns/net)
 *   netns:NAME                    /run/netns/NAME (`ip netns add NAME`)
 *   1234, pid:1234                the namespace of process 1234
 *   docker:REF, REF               a Docker container by name or id (Engine API)
 *
 * Every target also gets a `key`: the container id the IPAM records the
 * attachment under, stable for the life of the namespace, so that detach
 * finds the address that attach allocated. Refused: a container on the
 * host's network (`--network host`: we would rewire the host), and the host's
 * own namespace (that is what `weft expose` is for).
 */
import { statSync } from 'node:fs';
import { WeftError } from '../../common/errors.js';
import { mustParseContainerRef } from './container-ref.js';
import type { ContainerInfo, DockerClient } from './engine-client.js';

export type ParsedTarget =
  | { kind: 'netns'; path: string }
  | { kind: 'pid'; pid: number }
  | { kind: 'docker'; ref: string };

export interface ResolvedTarget {
  kind: ParsedTarget['kind'];
  /** The namespace file to open (setns / IFLA_NET_NS_FD). */
  netnsPath: string;
  /** IPAM container id for this attachment (charset of ipam/allocator.ts). */
  key: string;
  /** For messages: "docker container web (4f3c…)", "pid 1234", "netns /run/netns/x". */
  label: string;
  container?: ContainerInfo;
}

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,255}$/;
const MAX_PID = 4_194_304; // PID_MAX_LIMIT on 64-bit Linux

function bad(target: string, why: string): WeftError {
  return new WeftError('BAD_REQUEST', `invalid attach target ${JSON.stringify(target)}: ${why}`, { target });
}

function parsePid(target: string, s: string): number {
  if (!/^[0-9]{1,7}$/.test(s)) throw bad(target, 'not a process id');
  const pid = Number(s);
  if (pid < 1 || pid > MAX_PID) throw bad(target, 'not a process id');
  return pid;
}

/** Pure: which kind of target the user named. */
export function parseAttachTarget(target: string): ParsedTarget {
  const t = target.trim();
  if (t === '') throw bad(target, 'empty');
  if (t.startsWith('/')) return { kind: 'netns', path: t };
  if (t.startsWith('netns:')) {
    const rest = t.slice(6);
    if (rest.startsWith('/')) return { kind: 'netns', path: rest };
    if (!NETNS_NAME.test(rest) || rest === '.' || rest === '..') throw bad(target, 'not a namespace name');
    return { kind: 'netns', path: `/run/netns/${rest}` };
  }
  if (t.startsWith('pid:')) return { kind: 'pid', pid: parsePid(target, t.slice(4)) };
  if (/^[0-9]+$/.test(t)) return { kind: 'pid', pid: parsePid(target, t) };
  const ref = t.startsWith('docker:') ? t.slice(7) : t;
  return { kind: 'docker', ref: mustParseContainerRef(ref) };
}

export interface TargetDeps {
  /** The Docker client, created only when a Docker target is named. */
  docker: () => DockerClient;
  /** Identity of a namespace file, or undefined when it does not exist. */
  nsId?: (path: string) => { dev: number; ino: number } | undefined;
}

function statNs(path: string): { dev: number; ino: number } | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WeftError('KERNEL_ERROR', `cannot open ${path}: ${(e as Error).message}`, { path });
  }
}

export async function resolveAttachTarget(target: string, deps: TargetDeps): Promise<ResolvedTarget> {
  const parsed = parseAttachTarget(target);
  const nsId = deps.nsId ?? statNs;
  let resolved: ResolvedTarget;
  if (parsed.kind === 'netns') {
    resolved = { kind: 'netns', netnsPath: parsed.path, key: '', label: `netns ${parsed.path}` };
  } else if (parsed.kind === 'pid') {
    const netnsPath = `/proc/${parsed.pid}/ns/net`;
    resolved = { kind: 'pid', netnsPath, key: '', label: `pid ${parsed.pid}` };
  } else {
    const { container, netnsPath } = await deps.docker().containerNetns(parsed.ref);
    if (container.networkMode === 'host') {
      throw new WeftError(
        'BAD_REQUEST',
        `Docker container ${container.name} uses the host's network (--network host): there is nothing to attach`,
        { container: container.name },
      );
    }
    resolved = {
      kind: 'docker',
      netnsPath,
      key: container.id,
      label: `docker container ${container.name} (${container.id.slice(0, 12)})`,
      container,
    };
  }
  const id = nsId(resolved.netnsPath);
  if (!id) {
    throw new WeftError('NOT_FOUND', `no network namespace for ${resolved.label} (${resolved.netnsPath})`, {
      target,
    });
  }
  const own = nsId('/proc/self/ns/net');
  if (own && own.dev === id.dev && own.ino === id.ino) {
    throw new WeftError(
      'BAD_REQUEST',
      `${resolved.label} is in the host's own network namespace: use weft expose to give the host an address`,
      { target },
    );
  }
  // A namespace is identified by its inode while it exists: the same
  // namespace reached by path or by pid gets the same key.
  if (resolved.kind !== 'docker') resolved.key = `netns-${id.dev}-${id.ino}`;
  return resolved;
}
