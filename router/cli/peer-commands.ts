/**
 * Subcommands that change whom the router talks to or what it owns:
 * `weft connect [--replace] peer…`, `weft forget peer…`,
 * `weft rmpeer [--force] peer|nickname…`.
 */
import type { Command } from 'commander';
import { mustParsePeerAddresses } from '../api/peer-address.js';
import type { Report } from '../api/report.js';
import { clientFor, type HttpAddrOpts, withHttpAddr } from './options.js';
import { resolvePeerNames } from './peer-names.js';

export function registerPeerCommands(program: Command): void {
  withHttpAddr(
    program
      .command('connect')
      .description('add peers for the router to connect to')
      .argument('[peers...]', 'host[:port] of peers')
      .option('--replace', 'replace the current targets instead of adding to them'),
  ).action(async (peers: string[], opts: HttpAddrOpts & { replace?: boolean }) => {
    mustParsePeerAddresses(peers); // a typo fails here, even with no router running
    await clientFor(opts).json('POST', '/connect', { peers, replace: opts.replace ?? false });
  });

  withHttpAddr(
    program
      .command('forget')
      .description('stop connecting to peers (existing connections stay)')
      .argument('<peers...>', 'host[:port] of peers'),
  ).action(async (peers: string[], opts: HttpAddrOpts) => {
    mustParsePeerAddresses(peers);
    await clientFor(opts).json('POST', '/forget', { peers });
  });

  withHttpAddr(
    program
      .command('rmpeer')
      .description('take over the address space of peers that are gone for good (run on ONE live peer)')
      .argument('<peers...>', 'peer names (xx:xx:xx:xx:xx:xx) or nicknames')
      .option('--force', 'even while other owners of space are unreachable'),
  ).action(async (peers: string[], opts: HttpAddrOpts & { force?: boolean }) => {
    const client = clientFor(opts);
    const report = await client.json<Report>('GET', '/report');
    const names = resolvePeerNames(peers, report.router);
    const path = `/peer/${names.map(encodeURIComponent).join(',')}${opts.force ? '?force=true' : ''}`;
    const r = await client.json<{ owners: string[]; addresses: number }>('DELETE', path);
    process.stdout.write(
      r.owners.length > 0
        ? `took over ${r.addresses} addresses from ${r.owners.join(', ')}\n`
        : `nothing to take over: ${names.join(', ')} own no space\n`,
    );
  });
}
