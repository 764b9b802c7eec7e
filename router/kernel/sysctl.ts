/**
 * sysctl keys → /proc/sys paths, and reading/writing them in a namespace.
 * /proc/sys/net resolves against the namespace of the thread that opens the
 * file, so the synchronous fs calls below run inside `withNetns`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { WeftError } from '../../common/errors.js';
import { kernelError } from './kernel-errors.js';
import type { NetnsRef } from './kernel-net.js';
import { withNetns } from './netns.js';

export const PROC_SYS = '/proc/sys';

/**
 * "net/ipv4/conf/weft/forwarding" stays as is; "net.ipv4.ip_forward" (no '/')
 * becomes "net/ipv4/ip_forward". Refuses anything that could leave /proc/sys.
 */
export function sysctlRelPath(key: string): string {
  const rel = key.includes('/') ? key : key.replaceAll('.', '/');
  const parts = rel.split('/');
  if (rel.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..') || rel.includes('\0')) {
    throw new WeftError('BAD_REQUEST', `not a sysctl key: ${JSON.stringify(key)}`);
  }
  return rel;
}

function inNs<T>(netns: NetnsRef | undefined, fn: () => T): T {
  return netns ? withNetns(netns, fn) : fn();
}

export function readSysctl(netns: NetnsRef | undefined, key: string): string {
  const path = `${PROC_SYS}/${sysctlRelPath(key)}`;
  try {
    return inNs(netns, () => readFileSync(path, 'utf8')).trim();
  } catch (e) {
    throw kernelError('read sysctl', e, { key });
  }
}

export function writeSysctl(netns: NetnsRef | undefined, key: string, value: string | number): void {
  const path = `${PROC_SYS}/${sysctlRelPath(key)}`;
  try {
    inNs(netns, () => writeFileSync(path, `${value}\n`));
  } catch (e) {
    throw kernelError('write sysctl', e, { key, value: String(value) });
  }
}
