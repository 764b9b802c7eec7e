/**
 * `weft expose [cidr…] [--without-masquerade]` and `weft hide [cidr…]`: the
 * router does the work (POST / DELETE /expose, router/daemon/expose-service.ts)
 * because it owns the addresses (IPAM) and the bridge. A cidr is a subnet
 * (an address is allocated in it) or an exact address; none: the default
 * subnet. Prints the host's overlay addresses, as `weave expose` did.
 */
import type { Command } from 'commander';
import type { ExposeState } from '../host/expose-service.js';
import { clientFor, type HttpAddrOpts, withHttpAddr } from './options.js';

export function registerExposeCommands(program: Command): void {
  withHttpAddr(
    program
      .command('expose')
      .description(
        "give this host an address on the overlay, and masquerade containers' traffic leaving through it",
      )
      .argument(
        '[cidr...]',
        'subnet to take an address from, or the exact address (default: the default subnet)',
      )
      .option(
        '--without-masquerade',
        'only the address: no NAT for traffic between containers and the outside',
      ),
  ).action(async (cidrs: string[], opts: HttpAddrOpts & { withoutMasquerade?: boolean }) => {
    const masquerade = opts.withoutMasquerade !== true;
    const s = await clientFor(opts).json<ExposeState>('POST', '/expose', { cidrs, masquerade });
    process.stdout.write(`${s.addresses.join(' ')}\n`);
  });

  withHttpAddr(
    program
      .command('hide')
      .description(
        'take the host off the overlay again (all its addresses, or those given) and remove their NAT rules',
      )
      .argument('[cidr...]', 'exposed address, or subnet of one (default: all)'),
  ).action(async (cidrs: string[], opts: HttpAddrOpts) => {
    const q = cidrs.map((c) => `cidr=${encodeURIComponent(c)}`).join('&');
    const s = await clientFor(opts).json<ExposeState>('DELETE', `/expose${q ? `?${q}` : ''}`);
    process.stdout.write(s.addresses.length > 0 ? `still exposed: ${s.addresses.join(' ')}\n` : '');
  });
}
