/**
 * `weft rmpeer <peer|nickname>…`: peer names pass as they are; a nickname is
 * looked up among the peers the router knows. A peer that has been gone long
 * enough is no longer in the topology (it is garbage-collected once
 * unreachable), so its nickname cannot be resolved: the error says to use its
 * name, which `weft status ipam` shows.
 */
import { WeftError } from '../../common/errors.js';
import type { RouterReport } from '../api/report.js';
import { parsePeerName } from '../daemon/identity.js';

export function resolvePeerNames(args: readonly string[], router: Pick<RouterReport, 'peers'>): string[] {
  const out: string[] = [];
  for (const a of args) {
    const name = parsePeerName(a);
    if (name) {
      out.push(name);
      continue;
    }
    const matches = router.peers.filter((p) => p.nickname === a);
    if (matches.length === 1) out.push(matches[0]!.name);
    else if (matches.length > 1) {
      throw new WeftError(
        'BAD_REQUEST',
        `nickname ${JSON.stringify(a)} is ambiguous (${matches.map((m) => m.name).join(', ')}): give the peer name`,
      );
    } else {
      throw new WeftError(
        'NOT_FOUND',
        `no peer with nickname ${JSON.stringify(a)} is known here: give its name (xx:xx:xx:xx:xx:xx, see weft status ipam)`,
      );
    }
  }
  return [...new Set(out)];
}
