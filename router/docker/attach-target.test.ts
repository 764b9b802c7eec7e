import { describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import { parseAttachTarget, resolveAttachTarget, type TargetDeps } from './attach-target.js';
import type { ContainerInfo, DockerClient } from './engine-client.js';

const ID = 'b'.repeat(64);

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof WeftError) return e.code;
    throw e;
  }
  throw new Error('expected a WeftError');
}

async function failure(p: Promise<unknown>): Promise<WeftError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(WeftError);
  return e as WeftError;
}

describe('parseAttachTarget', () => {
  it.each([
    ['/var/run/netns/c1', { kind: 'netns', path: '/var/run/netns/c1' }],
    ['netns:/proc/7/ns/net', { kind: 'netns', path: '/proc/7/ns/net' }],
    ['netns:c1', { kind: 'netns', path: '/run/netns/c1' }],
    ['1234', { kind: 'pid', pid: 1234 }],
    ['pid:1', { kind: 'pid', pid: 1 }],
    ['web', { kind: 'docker', ref: 'web' }],
    ['docker:web', { kind: 'docker', ref: 'web' }],
    ['docker:1234', { kind: 'docker', ref: '1234' }],
    ['  web-1  ', { kind: 'docker', ref: 'web-1' }],
  ])('%j → %j', (input, want) => {
    expect(parseAttachTarget(input)).toEqual(want);
  });

  it.each([
    ['', 'BAD_REQUEST'],
    ['netns:', 'BAD_REQUEST'],
    ['netns:..', 'BAD_REQUEST'],
    ['netns:a/b', 'BAD_REQUEST'],
    ['pid:0', 'BAD_REQUEST'],
    ['pid:x', 'BAD_REQUEST'],
    ['99999999', 'BAD_REQUEST'],
    ['docker:../x', 'INVALID_CONTAINER_ID'],
    ['a b', 'INVALID_CONTAINER_ID'],
  ])('refuses %j with %s', (input, want) => {
    expect(code(() => parseAttachTarget(input))).toBe(want);
  });
});

function container(over: Partial<ContainerInfo> = {}): ContainerInfo {
  return { id: ID, name: 'web', pid: 4242, running: true, status: 'running', networkMode: 'none', ...over };
}

/** Namespaces by path: the host's own is 1, others as given. */
function deps(
  namespaces: Record<string, number>,
  info: ContainerInfo = container(),
): TargetDeps & { dockerCalls: number } {
  const d = {
    dockerCalls: 0,
    docker: () => {
      d.dockerCalls++;
      return {
        containerNetns: async () => ({ container: info, netnsPath: `/proc/${info.pid}/ns/net` }),
      } as unknown as DockerClient;
    },
    nsId: (path: string) => {
      const ino = path === '/proc/self/ns/net' ? 1 : namespaces[path];
      return ino === undefined ? undefined : { dev: 4, ino };
    },
  };
  return d;
}

describe('resolveAttachTarget', () => {
  it('keys a namespace by its identity, so the same namespace by path or by pid gets the same key', async () => {
    const d = deps({ '/run/netns/c1': 77, '/proc/55/ns/net': 77 });
    const byName = await resolveAttachTarget('netns:c1', d);
    const byPid = await resolveAttachTarget('55', d);
    expect(byName).toMatchObject({ kind: 'netns', netnsPath: '/run/netns/c1', key: 'netns-4-77' });
    expect(byPid).toMatchObject({
      kind: 'pid',
      netnsPath: '/proc/55/ns/net',
      key: 'netns-4-77',
      label: 'pid 55',
    });
    expect(d.dockerCalls).toBe(0);
  });

  it('resolves a Docker container through the engine and keys it by the container id', async () => {
    const d = deps({ '/proc/4242/ns/net': 90 });
    const r = await resolveAttachTarget('web', d);
    expect(r).toMatchObject({
      kind: 'docker',
      netnsPath: '/proc/4242/ns/net',
      key: ID,
      label: `docker container web (${ID.slice(0, 12)})`,
    });
    expect(r.container?.name).toBe('web');
  });

  it('refuses a container on the host network, and the host’s own namespace', async () => {
    const host = await failure(
      resolveAttachTarget('web', deps({ '/proc/4242/ns/net': 90 }, container({ networkMode: 'host' }))),
    );
    expect(host.code).toBe('BAD_REQUEST');
    expect(host.message).toContain('--network host');
    const own = await failure(resolveAttachTarget('pid:9', deps({ '/proc/9/ns/net': 1 })));
    expect(own.message).toContain('weft expose');
  });

  it('says NOT_FOUND for a namespace or process that does not exist', async () => {
    expect((await failure(resolveAttachTarget('netns:ghost', deps({})))).code).toBe('NOT_FOUND');
    const e = await failure(resolveAttachTarget('31337', deps({})));
    expect(e.message).toBe('no network namespace for pid 31337 (/proc/31337/ns/net)');
  });

  it('reads real namespace identities: this process is in the host’s namespace', async () => {
    const e = await failure(
      resolveAttachTarget(String(process.pid), {
        docker: () => {
          throw new Error('unused');
        },
      }),
    );
    expect(e.code).toBe('BAD_REQUEST');
  });
});
