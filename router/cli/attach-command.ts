/**
 * `weft attach [--cidr a.b.c.d/n]… <target>` and `weft detach <target>`
 * (attach.ts does the work). Targets: a namespace path or netns:NAME, a PID
 * or pid:N, a Docker container name or id (DOCKER_HOST=unix:///… picks the
 * engine). detach also takes the `attach:<key>` id `weft ps --json` shows, for
 * an attachment whose container is gone, and a stopped Docker container.
 */
import type { Command } from 'commander';
import { netlinkKernelAccess } from '../../cni-plugin/net/kernel-access.js';
import { WeftError } from '../../common/errors.js';
import { DEFAULT_DEVICES } from '../dataplane/devices.js';
import { parseAttachTarget, resolveAttachTarget } from '../docker/attach-target.js';
import { dockerSocketPath } from '../docker/docker-host.js';
import { DockerClient } from '../docker/engine-client.js';
import { attachKeyOf } from '../host/attachment-ids.js';
import { attach, detach } from './attach.js';
import { clientFor, type HttpAddrOpts, withHttpAddr } from './options.js';

const targetHelp =
  'a network namespace (/path, netns:NAME), a process (PID, pid:N) or a Docker container (name or id)';

const docker = () => new DockerClient({ socketPath: dockerSocketPath() });

async function withKernel<T>(
  fn: (k: Awaited<ReturnType<typeof netlinkKernelAccess>>) => Promise<T>,
): Promise<T> {
  const kernel = await netlinkKernelAccess();
  try {
    return await fn(kernel);
  } finally {
    kernel.close();
  }
}

export function registerAttachCommands(program: Command): void {
  withHttpAddr(
    program
      .command('attach')
      .description('give a running container an interface (ethwe) and an address on the overlay')
      .argument('<target>', targetHelp)
      .option(
        '--cidr <a.b.c.d/n>',
        'a subnet to allocate from, or an exact address to claim (repeat for several)',
        (v: string, prev: string[] = []) => [...prev, v],
      ),
  ).action(async (target: string, opts: HttpAddrOpts & { cidr?: string[] }) => {
    const resolved = await resolveAttachTarget(target, { docker });
    const api = clientFor(opts);
    const r = await withKernel((kernel) =>
      attach({ api, kernel, bridge: DEFAULT_DEVICES.bridge }, resolved, opts.cidr ?? []),
    );
    process.stdout.write(`${r.addresses.join(' ')}\n`);
  });

  withHttpAddr(
    program
      .command('detach')
      .description('remove the overlay interface of a container and release its addresses')
      .argument('<target>', `${targetHelp}, or attach:<key> from weft ps --json`),
  ).action(async (target: string, opts: HttpAddrOpts) => {
    let key = attachKeyOf(target.trim());
    let label = target;
    if (key === undefined) {
      const parsed = parseAttachTarget(target);
      if (parsed.kind === 'docker') {
        // A stopped container has no namespace any more, but still its id.
        const c = await docker().inspectContainer(parsed.ref);
        key = c.id;
        label = `docker container ${c.name} (${c.id.slice(0, 12)})`;
      } else {
        const resolved = await resolveAttachTarget(target, { docker });
        key = resolved.key;
        label = resolved.label;
      }
    }
    if (!key) throw new WeftError('BAD_REQUEST', `invalid detach target ${JSON.stringify(target)}`);
    const api = clientFor(opts);
    const r = await withKernel((kernel) =>
      detach({ api, kernel, bridge: DEFAULT_DEVICES.bridge }, key, label),
    );
    process.stdout.write(`${r.released.length > 0 ? r.released.join(' ') : 'detached'}\n`);
  });
}
