/**
 * `weft setup-cni [--bin-dir] [--conf-dir] [--router] [--skip-conflist]`:
 * install the weft-net / weft-ipam plugins and the weft conflist
 * (cni-plugin/setup.ts does it; this only maps the flags).
 */
import type { Command } from 'commander';
import { CONFLIST_NAME, DEFAULT_BIN_DIR, DEFAULT_CONF_DIR, setupCni } from '../../cni-plugin/setup.js';
import { parseHttpAddr } from './router-config.js';

export function registerSetupCniCommand(program: Command): void {
  program
    .command('setup-cni')
    .description('install the weft CNI plugins and network configuration')
    .option('--bin-dir <dir>', `where runtimes look for CNI plugins (default ${DEFAULT_BIN_DIR})`)
    .option(
      '--conf-dir <dir>',
      `where runtimes look for network configurations (default ${DEFAULT_CONF_DIR})`,
    )
    .option('--router <host:port>', 'the router API the plugin calls (default 127.0.0.1:6784)')
    .option('--skip-conflist', `install the plugins only, not ${CONFLIST_NAME}`)
    .action((opts: { binDir?: string; confDir?: string; router?: string; skipConflist?: boolean }) => {
      if (opts.router !== undefined) parseHttpAddr(opts.router, '--router');
      const r = setupCni({
        ...(opts.binDir ? { binDir: opts.binDir } : {}),
        ...(opts.confDir ? { confDir: opts.confDir } : {}),
        ...(opts.router ? { router: opts.router } : {}),
        ...(opts.skipConflist ? { skipConflist: true } : {}),
      });
      for (const p of r.written) process.stdout.write(`${p}\n`);
    });
}
