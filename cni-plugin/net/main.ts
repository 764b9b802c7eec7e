/** Entry point of the `weft-net` CNI plugin (bundled to dist/cni/weft-net.cjs). */
import { nativeHttpRequest } from '../ipam/http-native.js';
import { nodeProcessIo } from '../process-io.js';
import { runPlugin } from '../skel.js';
import { netlinkKernelAccess } from './kernel-access.js';
import { weftNetVerbs } from './verbs.js';

// Exit as soon as the answer is out: a socket or timer left behind must not
// keep the runtime waiting.
void runPlugin(weftNetVerbs({ kernel: netlinkKernelAccess, http: nativeHttpRequest }), nodeProcessIo()).then(
  (code) => process.exit(code),
);
