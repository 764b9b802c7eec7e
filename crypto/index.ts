/** What the rest of weft imports from crypto/. */
export type * from './contracts.js';
export {
  type OpenedSleevePacket,
  SLEEVE_KEY_LABEL,
  SLEEVE_MAX_SEALED_BODY,
  type SleeveKeys,
  type SleeveOpenError,
  SleeveOpener,
  SleeveSealer,
  sleeveKeyId,
  sleeveKeys,
} from './datagram.js';
export {
  createHandshake,
  HANDSHAKE_OVERHEAD,
  handshakePrologue,
  MAX_HANDSHAKE_PAYLOAD,
} from './handshake.js';
export { derivePsk, derivePskAsync, PSK_BYTES, PSK_KDF } from './psk.js';
export { REPLAY_WINDOW, ReplayWindow } from './replay-window.js';
export {
  decodeSleeveHeader,
  PEER_NAME_BYTES,
  peerNameFromBytes,
  peerNameToBytes,
  SLEEVE_HEADER_BYTES,
  SLEEVE_MAX_DATAGRAM,
  type SleeveHeader,
  SleeveType,
} from './sleeve-header.js';
export { ChaChaStreamOpener, ChaChaStreamSealer } from './stream-seal.js';
