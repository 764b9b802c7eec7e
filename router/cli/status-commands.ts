/**
 * Read-only subcommands: `weft status [view]`, `weft report [-f path]`,
 * `weft ps`, `weft prime`, `weft version`.
 */
import type { Command } from 'commander';
import { weftVersion } from '../../common/version.js';
import type { Report } from '../api/report.js';
import type { AttachmentRow } from '../host/attachments.js';
import { clientFor, type HttpAddrOpts, withHttpAddr } from './options.js';
import { formatPs } from './ps-format.js';
import { formatField, reportField } from './report-field.js';

export function registerStatusCommands(program: Command): void {
  withHttpAddr(
    program
      .command('status')
      .description('show the router status, or one view: peers, connections, targets, ipam')
      .argument('[view]', 'peers | connections | targets | ipam'),
  ).action(async (view: string | undefined, opts: HttpAddrOpts) => {
    const path = view ? `/status/${encodeURIComponent(view)}` : '/status';
    process.stdout.write(await clientFor(opts).text(path));
  });

  withHttpAddr(
    program
      .command('report')
      .description('print the router report as JSON, or one field of it')
      .option('-f, --format <path>', 'print one field, e.g. router.name, ipam.state, overlay.mtu'),
  ).action(async (opts: HttpAddrOpts & { format?: string }) => {
    const report = await clientFor(opts).json<Report>('GET', '/report');
    process.stdout.write(formatField(opts.format === undefined ? report : reportField(report, opts.format)));
  });

  withHttpAddr(
    program
      .command('ps')
      .description('list what is attached to this host: container, MAC, addresses')
      .option('--json', 'print the attachments as JSON'),
  ).action(async (opts: HttpAddrOpts & { json?: boolean }) => {
    const { attachments } = await clientFor(opts).json<{ attachments: AttachmentRow[] }>(
      'GET',
      '/attachments',
    );
    process.stdout.write(opts.json ? `${JSON.stringify(attachments, null, 2)}\n` : formatPs(attachments));
  });

  withHttpAddr(
    program
      .command('prime')
      .description('wait until the address ring is ready (allocations can be served)')
      .option('--timeout <seconds>', 'give up after this long', '60'),
  ).action(async (opts: HttpAddrOpts & { timeout: string }) => {
    const seconds = Number(opts.timeout);
    if (!(seconds > 0 && seconds <= 600))
      throw new Error(`--timeout: want 1-600 seconds, got ${JSON.stringify(opts.timeout)}`);
    const ms = Math.round(seconds * 1000);
    // The router waits (GET /ring) and answers RING_NOT_READY with the state when time is up.
    const ring = await clientFor(opts).json<{ ringId: string; entries: unknown[] }>(
      'GET',
      `/ring?timeout=${ms}`,
      undefined,
      ms + 10_000,
    );
    process.stdout.write(`ring ${ring.ringId} ready (${ring.entries.length} entries)\n`);
  });

  withHttpAddr(
    program
      .command('version')
      .description("print weft's version, and the running router's when there is one"),
  ).action(async (opts: HttpAddrOpts) => {
    process.stdout.write(`weft ${weftVersion()}\n`);
    const client = clientFor(opts);
    const router = await client.json<Report>('GET', '/report', undefined, 1_000).catch(() => undefined);
    if (router) process.stdout.write(`router ${router.version} (${client.httpAddr})\n`);
  });
}
