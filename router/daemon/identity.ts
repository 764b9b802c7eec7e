/**
 * Who this router is: its peer name (stable across restarts) and its UID
 * (fresh on every process start, so a peer that restarts is distinguishable
 * from its previous incarnation and a cloned machine with the same name shows
 * up as a collision instead of a silent takeover).
 *
 * The name is a 48-bit MAC-style string. Derived by default from the machine
 * id and the data directory, so two routers on one machine (one per network
 * namespace, each with its own data dir) get different names, and persisted,
 * so a later change of either input does not rename the router.
 */
import { createHash } from 'node:crypto';
import { WeftError } from '../../common/errors.js';
import type { Random } from '../../common/random.js';

const PEER_NAME = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Normalise a user-supplied peer name (any case) or return undefined if it is not one. */
export function parsePeerName(s: string): string | undefined {
  const lower = s.trim().toLowerCase();
  return PEER_NAME.test(lower) ? lower : undefined;
}

export function mustParsePeerName(s: string): string {
  const n = parsePeerName(s);
  if (n === undefined) {
    throw new WeftError(
      'INVALID_PEER_NAME',
      `invalid peer name ${JSON.stringify(s)}: want xx:xx:xx:xx:xx:xx (hex)`,
    );
  }
  return n;
}

function formatMac(b: Uint8Array): string {
  return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * A MAC-style name from arbitrary seed bytes: the first 6 bytes of SHA-256,
 * unicast (multicast bit cleared) and locally administered (bit set), as a
 * real NIC's address never is.
 */
export function peerNameFromSeed(seed: string | Uint8Array): string {
  const h = createHash('sha256').update(seed).digest();
  h[0] = ((h[0]! & 0xfe) | 0x02) & 0xff;
  return formatMac(h);
}

/** The default name: machine id and data dir together, so each router on a machine differs. */
export function derivePeerName(machineId: string, dataDir: string): string {
  return peerNameFromSeed(`weft-peer-name\0${machineId.trim()}\0${dataDir}`);
}

export interface NameChoice {
  name: string;
  /** Where it came from, for the start-up log line. */
  source: 'flag' | 'stored' | 'derived' | 'random';
  /** Whether the caller must write it to the store. */
  persist: boolean;
}

/**
 * Decide the peer name. An explicit --name wins (and replaces what was
 * stored: the user renamed the router); otherwise the stored name; otherwise
 * derive one from the machine id, or draw a random one if the machine has no
 * id (it is persisted, so it is stable all the same).
 */
export function choosePeerName(input: {
  flag?: string;
  stored?: string;
  machineId?: string;
  dataDir: string;
  random: Random;
}): NameChoice {
  if (input.flag !== undefined) {
    const name = mustParsePeerName(input.flag);
    return { name, source: 'flag', persist: name !== input.stored };
  }
  const stored = input.stored === undefined ? undefined : parsePeerName(input.stored);
  if (stored !== undefined) return { name: stored, source: 'stored', persist: false };
  if (input.machineId?.trim()) {
    return { name: derivePeerName(input.machineId, input.dataDir), source: 'derived', persist: true };
  }
  return { name: peerNameFromSeed(input.random.bytes(32)), source: 'random', persist: true };
}

/** A fresh 64-bit UID for this process start, never zero. */
export function newPeerUid(random: Random): bigint {
  for (;;) {
    const b = random.bytes(8);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    if (v !== 0n) return v;
  }
}
