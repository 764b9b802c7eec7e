/** What the rest of weft imports from crypto/. */
export type * from './contracts.js';
export { createHandshake, handshakePrologue, MAX_HANDSHAKE_PAYLOAD } from './handshake.js';
export { derivePsk, derivePskAsync, PSK_BYTES, PSK_KDF } from './psk.js';
export { ChaChaStreamOpener, ChaChaStreamSealer } from './stream-seal.js';
