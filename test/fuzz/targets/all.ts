/** Every fuzz target, for the test suite (test/fuzz/*.test.ts). run.ts finds them by file name. */

import { target as cni } from './cni.fuzz.js';
import { target as cniRouterReply } from './cni-router-reply.fuzz.js';
import { target as control } from './control.fuzz.js';
import { target as frameReader } from './frame-reader.fuzz.js';
import { target as handshake } from './handshake.fuzz.js';
import { target as httpApi } from './http-api.fuzz.js';
import { target as intro } from './intro.fuzz.js';
import { target as ipam } from './ipam.fuzz.js';
import { target as meshConnection } from './mesh-connection.fuzz.js';
import { target as meshMessage } from './mesh-message.fuzz.js';
import { target as meshRouter } from './mesh-router.fuzz.js';
import { target as routerFlags } from './router-flags.fuzz.js';
import { target as sleeve } from './sleeve.fuzz.js';
import { target as sleeveNative } from './sleeve-native.fuzz.js';
import type { FuzzTarget } from './target.js';
import { target as topology } from './topology.fuzz.js';

export const ALL_TARGETS: readonly FuzzTarget[] = [
  cniRouterReply,
  cni,
  control,
  frameReader,
  handshake,
  httpApi,
  intro,
  ipam,
  meshConnection,
  meshMessage,
  meshRouter,
  routerFlags,
  sleeveNative,
  sleeve,
  topology,
];
