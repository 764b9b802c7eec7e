/**
 * A stand-in for the mesh's Noise session in data-plane tests: both ends of
 * a connection derive mirrored directional keys from a shared password (SHA-256
 * of password, label and direction), so the sleeve is sealed exactly as with a
 * real session, and a test that knows the password knows the keys.
 */
import { createHash } from 'node:crypto';
import type { DirectionalKeys, MeshSession } from '../../crypto/contracts.js';
import type { PeerName } from '../../router/mesh/gossip-api.js';

function key(password: string, label: string, from: PeerName, to: PeerName): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`${password}|${label}|${from}>${to}`).digest());
}

export function fakeSession(password: string, local: PeerName, remote: PeerName): MeshSession {
  const deriveKeys = (label: string): DirectionalKeys => ({
    send: key(password, label, local, remote),
    recv: key(password, label, remote, local),
  });
  return {
    deriveKeys,
    handshakeHash: key(password, 'hash', [local, remote].sort().join(), ''),
    sealer: { seal: (b) => b },
    opener: { open: (b) => ({ ok: true, value: b }) },
  };
}
