/** Ethernet MAC addresses as lower-case "aa:bb:cc:dd:ee:ff" strings and 6-byte buffers. */
import { WeftError } from '../../common/errors.js';

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export const ZERO_MAC = '00:00:00:00:00:00';
export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

export function isMac(s: string): boolean {
  return MAC.test(s);
}

export function macToBytes(s: string): Buffer {
  if (!MAC.test(s)) throw new WeftError('BAD_REQUEST', `not a MAC address: ${JSON.stringify(s)}`);
  return Buffer.from(s.replaceAll(':', ''), 'hex');
}

/** Format 6 bytes; any other length is shown in hex too (e.g. a TUN device's empty address). */
export function macFromBytes(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function normalizeMac(s: string): string {
  return macFromBytes(macToBytes(s));
}
