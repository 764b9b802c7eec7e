/** Entry point of the `weft-ipam` CNI IPAM plugin (bundled to dist/cni/weft-ipam.mjs). */
import { nodeProcessIo } from '../process-io.js';
import { runPlugin } from '../skel.js';
import { weftIpamVerbs } from './verbs.js';

const code = await runPlugin(weftIpamVerbs(), nodeProcessIo());
process.exit(code);
