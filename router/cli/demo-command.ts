/** `weft demo [--keep] [--hosts N]`: see demo.ts. */
import type { Command } from 'commander';
import { runDemo } from './demo.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'build a 3-host weft mesh in network namespaces on this machine, show it, clean up (needs root)',
    )
    .option('--keep', 'keep the cluster running until Ctrl-C')
    .option('--hosts <n>', 'number of simulated hosts (2-9)', '3')
    .option('--timeout <seconds>', 'how long to wait for the mesh to form', '60')
    .action(async (opts: { keep?: boolean; hosts: string; timeout: string }) => {
      const hosts = Number(opts.hosts);
      if (!Number.isInteger(hosts) || hosts < 2 || hosts > 9)
        throw new Error(`--hosts: want 2-9, got ${opts.hosts}`);
      const timeout = Number(opts.timeout);
      if (!(timeout > 0))
        throw new Error(`--timeout: want a positive number of seconds, got ${opts.timeout}`);
      await runDemo({
        hosts,
        keep: opts.keep ?? false,
        timeoutMs: timeout * 1000,
        out: (line) => process.stdout.write(`${line}\n`),
      });
    });
}
