import type { Hello } from '../../../router/wire/messages.js';

/** A valid hello from `name`, for tests and fuzz targets that drive a mesh connection. */
export const hello = (name: string): Hello => ({
  name,
  nickname: 'x',
  uid: 5n,
  connId: 6n,
  listenPort: 6783,
  software: 'weft-test',
  shortId: null,
});
