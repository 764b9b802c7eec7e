/**
 * Peer addresses as users give them (command line, `POST /connect`):
 * `host[:port]`, host an IPv4 address or a DNS name, port defaulting to the
 * mesh port. Parsed strictly here, once, so a typo is an INVALID_PEER_ADDRESS
 * error at the door rather than a connection that retries forever.
 */
import { WeftError } from '../../common/errors.js';
import { parseIp } from '../../common/ip.js';

export const DEFAULT_MESH_PORT = 6783;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function isHostname(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  const labels = h.replace(/\.$/, '').split('.');
  // All-numeric dotted names are malformed IPv4 addresses, not hostnames.
  if (labels.every((l) => /^[0-9]+$/.test(l))) return false;
  return labels.every((l) => LABEL.test(l));
}

/** "host:port" normalised (port filled in), or undefined when malformed. */
export function parsePeerAddress(s: string, defaultPort = DEFAULT_MESH_PORT): string | undefined {
  const t = s.trim();
  const m = /^([^:]+)(?::([0-9]{1,5}))?$/.exec(t);
  if (!m) return undefined;
  const host = m[1]!;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  if (parseIp(host) === undefined && !isHostname(host)) return undefined;
  return `${host.toLowerCase()}:${port}`;
}

export function mustParsePeerAddress(s: string, defaultPort = DEFAULT_MESH_PORT): string {
  const a = parsePeerAddress(s, defaultPort);
  if (a === undefined) {
    throw new WeftError(
      'INVALID_PEER_ADDRESS',
      `invalid peer address ${JSON.stringify(s)}: want host[:port]`,
      {
        address: s,
      },
    );
  }
  return a;
}

/** Parse many; the first malformed one is the error (listing every bad one in details). */
export function mustParsePeerAddresses(list: readonly string[], defaultPort = DEFAULT_MESH_PORT): string[] {
  const bad = list.filter((s) => parsePeerAddress(s, defaultPort) === undefined);
  if (bad.length > 0) {
    throw new WeftError(
      'INVALID_PEER_ADDRESS',
      `invalid peer address ${JSON.stringify(bad[0])}: want host[:port]`,
      { addresses: bad },
    );
  }
  return list.map((s) => parsePeerAddress(s, defaultPort)!);
}
