/**
 * nftables tables of weft's own, through the `nft` program (Debian's nftables
 * package). Why the CLI and not netlink: nf_tables messages (expressions,
 * sets, per-kernel feature differences) are a large, version-sensitive format
 * that the `netlink` package does not cover, whereas `nft -f` (ruleset text)
 * and `nft -j` (JSON, libnftables' documented stable schema) are the
 * maintained interface. Rule changes happen on the control path only (expose,
 * tests), so a process start (~5 ms) per change is affordable.
 *
 * `applyTable` replaces a whole table in ONE nft transaction: either the new
 * table is in place or the old one is untouched. weft never edits tables it
 * does not own.
 */
import { WeftError } from '../../common/errors.js';
import { type ExecOutput, execInNetns } from './exec-in-netns.js';
import { kernelErrno } from './kernel-errors.js';
import type { NetnsRef } from './kernel-net.js';

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

/** One object of `nft -j` output ({table: …}, {chain: …}, {rule: …}, {set: …}); metainfo dropped. */
export type NftObject = Record<string, Record<string, unknown>>;

export interface NftablesOptions {
  /** Apply in this namespace (default: the caller's). */
  netns?: NetnsRef;
  /** Path of the nft program (default "nft" on PATH). */
  nft?: string;
  timeoutMs?: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const FAMILIES: readonly NftFamily[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];

function checkTable(family: NftFamily, table: string): void {
  if (!FAMILIES.includes(family))
    throw new WeftError('BAD_REQUEST', `unknown nftables family ${JSON.stringify(family)}`);
  if (!NAME.test(table))
    throw new WeftError('BAD_REQUEST', `invalid nftables table name ${JSON.stringify(table)}`);
}

/**
 * The script that swaps in a table atomically: make sure it exists (so the
 * delete cannot fail), delete it, recreate it with `body` — all one transaction.
 */
export function replaceTableScript(family: NftFamily, table: string, body: string): string {
  checkTable(family, table);
  return `table ${family} ${table} {}\ndelete table ${family} ${table}\ntable ${family} ${table} {\n${body}\n}\n`;
}

/** nft reports errors as text; map the common ones to errnos. */
export function nftErrno(stderr: string): string {
  if (/No such file or directory/i.test(stderr)) return 'ENOENT';
  if (/File exists/i.test(stderr)) return 'EEXIST';
  if (/Operation not permitted/i.test(stderr)) return 'EPERM';
  if (/Device or resource busy/i.test(stderr)) return 'EBUSY';
  return 'EINVAL';
}

export class Nftables {
  constructor(private readonly opts: NftablesOptions = {}) {}

  private async nft(op: string, args: string[], input?: string): Promise<ExecOutput> {
    const run: { input?: string; timeoutMs?: number } = {};
    if (input !== undefined) run.input = input;
    if (this.opts.timeoutMs !== undefined) run.timeoutMs = this.opts.timeoutMs;
    const out = await execInNetns(this.opts.netns, this.opts.nft ?? 'nft', args, run);
    if (out.spawnError) {
      throw kernelErrno(op, out.spawnError, {
        program: this.opts.nft ?? 'nft',
        note: 'is the nftables package installed?',
      });
    }
    return out;
  }

  private fail(op: string, out: ExecOutput, details: Record<string, unknown>): never {
    throw kernelErrno(op, nftErrno(out.stderr), { ...details, stderr: out.stderr.trim().slice(0, 2000) });
  }

  /** Replace (or create) table `family table` with `body`, atomically. */
  async applyTable(family: NftFamily, table: string, body: string): Promise<void> {
    const script = replaceTableScript(family, table, body);
    const out = await this.nft('nft apply table', ['-f', '-'], script);
    if (out.code !== 0) this.fail('nft apply table', out, { family, table });
  }

  /** The table's objects as `nft -j` lists them, or undefined when there is no such table. */
  async listTable(family: NftFamily, table: string): Promise<NftObject[] | undefined> {
    checkTable(family, table);
    const out = await this.nft('nft list table', ['-j', 'list', 'table', family, table]);
    if (out.code !== 0) {
      if (nftErrno(out.stderr) === 'ENOENT') return undefined;
      this.fail('nft list table', out, { family, table });
    }
    return parseNftJson(out.stdout);
  }

  /** Delete a table; false when it did not exist and `missingOk`. */
  async deleteTable(family: NftFamily, table: string, opts: { missingOk?: boolean } = {}): Promise<boolean> {
    checkTable(family, table);
    const out = await this.nft('nft delete table', ['delete', 'table', family, table]);
    if (out.code === 0) return true;
    if (opts.missingOk && nftErrno(out.stderr) === 'ENOENT') return false;
    this.fail('nft delete table', out, { family, table });
  }
}

/** Parse `nft -j` output; malformed output is a KERNEL_ERROR, not a crash. */
export function parseNftJson(text: string): NftObject[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw kernelErrno('nft list', 'EBADMSG', { note: 'nft -j printed something that is not JSON' });
  }
  const list = (doc as { nftables?: unknown })?.nftables;
  if (!Array.isArray(list)) throw kernelErrno('nft list', 'EBADMSG', { note: 'no "nftables" array' });
  return list.filter(
    (o): o is NftObject => o !== null && typeof o === 'object' && !Array.isArray(o) && !('metainfo' in o),
  );
}
