/**
 * Subcommands that talk to a running router over its HTTP API:
 * `weft status [view]`, `weft report`, `weft connect`, `weft forget`.
 * The router's address comes from --http-addr, else WEFT_HTTP_ADDR, else the
 * default 127.0.0.1:6784.
 */
import type { Command } from 'commander';
import { mustParsePeerAddresses } from '../api/peer-address.js';
import { ApiClient, DEFAULT_HTTP_ADDR } from './api-client.js';

function client(opts: { httpAddr?: string }): ApiClient {
  return new ApiClient(opts.httpAddr ?? process.env.WEFT_HTTP_ADDR ?? DEFAULT_HTTP_ADDR);
}

const httpAddrHelp = `router API address (env WEFT_HTTP_ADDR, default ${DEFAULT_HTTP_ADDR})`;

export function registerClientCommands(program: Command): void {
  program
    .command('status')
    .description('show the router status, or one view: peers, connections, targets, ipam')
    .argument('[view]', 'peers | connections | targets | ipam')
    .option('--http-addr <host:port>', httpAddrHelp)
    .action(async (view: string | undefined, opts: { httpAddr?: string }) => {
      const path = view ? `/status/${encodeURIComponent(view)}` : '/status';
      process.stdout.write(await client(opts).text(path));
    });

  program
    .command('report')
    .description('print the router report as JSON')
    .option('--http-addr <host:port>', httpAddrHelp)
    .option('-f, --format <path>', 'print one field, e.g. router.name or router.peers')
    .action(async (opts: { httpAddr?: string; format?: string }) => {
      const report = await client(opts).json<Record<string, unknown>>('GET', '/report');
      let value: unknown = report;
      if (opts.format) {
        for (const key of opts.format.split('.')) {
          if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) {
            throw new Error(`report has no field ${JSON.stringify(opts.format)}`);
          }
          value = (value as Record<string, unknown>)[key];
        }
      }
      process.stdout.write(typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`);
    });

  program
    .command('connect')
    .description('add peers for the router to connect to')
    .argument('[peers...]', 'host[:port] of peers')
    .option('--replace', 'replace the current targets instead of adding to them')
    .option('--http-addr <host:port>', httpAddrHelp)
    .action(async (peers: string[], opts: { httpAddr?: string; replace?: boolean }) => {
      mustParsePeerAddresses(peers); // a typo fails here, even with no router running
      await client(opts).json('POST', '/connect', { peers, replace: opts.replace ?? false });
    });

  program
    .command('forget')
    .description('stop connecting to peers (existing connections stay)')
    .argument('<peers...>', 'host[:port] of peers')
    .option('--http-addr <host:port>', httpAddrHelp)
    .action(async (peers: string[], opts: { httpAddr?: string }) => {
      mustParsePeerAddresses(peers);
      await client(opts).json('POST', '/forget', { peers });
    });
}
