/** Entry point of the `weft-ipam` CNI IPAM plugin (bundled to dist/cni/weft-ipam.cjs). */
import { nativeHttpRequest } from '../ipam/http-native.js';
import { nodeProcessIo } from '../process-io.js';
import { runPlugin } from '../skel.js';
import { weftIpamVerbs } from './verbs.js';

void runPlugin(weftIpamVerbs({ http: nativeHttpRequest }), nodeProcessIo()).then((code) =>
  process.exit(code),
);
