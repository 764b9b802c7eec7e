/**
 * `weft`: the single entry point (bin/weft loads this from dist/). Each
 * subcommand lives in its own file; this one only declares them. Errors end
 * the process with one line on stderr and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { isWeftError } from '../../common/errors.js';
import { registerClientCommands } from './client-commands.js';
import { registerDemoCommand } from './demo-command.js';
import { registerRouterCommand } from './router-command.js';
import { weftVersion } from './version.js';

export function buildProgram(): Command {
  const program = new Command('weft')
    .description('weft: an encrypted overlay network for containers')
    .version(weftVersion(), '-V, --version', 'print the version')
    // Commander's own errors (unknown option, missing argument) in our one-line form.
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'weft: ')) });
  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`weft ${weftVersion()}\n`);
    });
  registerRouterCommand(program);
  registerClientCommands(program);
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
