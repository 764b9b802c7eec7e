/** Entry point of the `weft-net` CNI plugin (bundled to dist/cni/weft-net.mjs). */
import { nodeProcessIo } from '../process-io.js';
import { runPlugin } from '../skel.js';
import { netlinkKernelAccess } from './kernel-access.js';
import { weftNetVerbs } from './verbs.js';

const code = await runPlugin(weftNetVerbs({ kernel: netlinkKernelAccess }), nodeProcessIo());
// Exit now: a socket or timer left behind must not keep the runtime waiting.
process.exit(code);
