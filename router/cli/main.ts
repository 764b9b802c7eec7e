/**
 * `weft`: the single entry point (bin/weft loads this from dist/). Each
 * subcommand lives in its own file; this one only declares them. Errors end
 * the process with one line on stderr and a non-zero exit code.
 *
 *   router, launch, stop, reset                 the router process   (router-command, launch-command, lifecycle-commands)
 *   status, report, ps, prime, version          what it knows        (status-commands)
 *   connect, forget, rmpeer                     peers                (peer-commands)
 *   attach, detach, expose, hide, setup-cni     containers and host  (attach-command, expose-command, setup-cni-command)
 *   demo                                        a cluster on this machine (demo-command)
 */
import { Command, CommanderError } from 'commander';
import { isWeftError } from '../../common/errors.js';
import { weftVersion } from '../../common/version.js';
import { registerAttachCommands } from './attach-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerExposeCommands } from './expose-command.js';
import { registerLaunchCommand } from './launch-command.js';
import { registerLifecycleCommands } from './lifecycle-commands.js';
import { registerPeerCommands } from './peer-commands.js';
import { registerRouterCommand } from './router-command.js';
import { registerSetupCniCommand } from './setup-cni-command.js';
import { registerStatusCommands } from './status-commands.js';

export function buildProgram(): Command {
  const program = new Command('weft')
    .description('weft: an encrypted overlay network for containers')
    .version(weftVersion(), '-V, --version', 'print the version')
    // Commander's own errors (unknown option, missing argument) in our one-line form.
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'weft: ')) });
  registerRouterCommand(program);
  registerLaunchCommand(program);
  registerLifecycleCommands(program);
  registerStatusCommands(program);
  registerPeerCommands(program);
  registerAttachCommands(program);
  registerExposeCommands(program);
  registerSetupCniCommand(program);
  registerDemoCommand(program);
  return program;
}

/** Print a failure as one line and exit non-zero. */
export function fail(e: unknown): never {
  const message = isWeftError(e) ? e.message : e instanceof Error ? e.message : String(e);
  process.stderr.write(`weft: ${message.split('\n')[0]}\n`);
  process.exit(1);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    fail(e);
  }
}
