/**
 * A real Docker engine (Debian's docker.io), started by the test itself
 * (test/runtime/docker-engine.ts), with the busybox image imported from a
 * rootfs tarball: a `--network none` container is resolved through
 * router/docker to a PID whose network namespace exists and holds only `lo`;
 * the engine's errors come out typed; and stopping the engine leaves nothing
 * behind (no dockerd, containerd or shim, no cgroup, no mount, no namespace,
 * no link in the root namespace, no file).
 *
 * Podman gets the same image in a private store.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import { resolveAttachTarget } from '../../router/docker/attach-target.js';
import { dockerSocketPath } from '../../router/docker/docker-host.js';
import { DockerClient } from '../../router/docker/engine-client.js';
import {
  BUSYBOX_IMAGE,
  busyboxRootfsTar,
  importDockerImage,
  importPodmanImage,
} from '../runtime/busybox-image.js';
import {
  cgroupDirs,
  DOCKER_CLI,
  type DockerEngine,
  isAlive,
  pidsInMountNs,
  startDockerEngine,
} from '../runtime/docker-engine.js';
import { Lab, mustSh, sh } from './lab.js';

function rootLinks(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!)
    .sort();
}

const ipForward = () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

describe('a private Docker engine', () => {
  let engine: DockerEngine | undefined;
  let linksBefore: string[];
  let forwardBefore: string;
  let runDockerBefore: boolean;
  let etcKeyBefore: boolean;
  let docker: DockerClient;

  beforeAll(async () => {
    linksBefore = rootLinks();
    forwardBefore = ipForward();
    runDockerBefore = existsSync('/run/docker');
    etcKeyBefore = existsSync('/etc/docker/key.json');
    engine = await startDockerEngine();
    // The way `weft attach` will find it: DOCKER_HOST.
    docker = new DockerClient({ socketPath: dockerSocketPath({ DOCKER_HOST: engine.dockerHost }) });
    await importDockerImage((args) => engine!.mustCli(args));
  });

  afterAll(async () => {
    await engine?.stop();
  });

  it('answers on its own socket, as the engine Debian ships', async () => {
    expect(await docker.ping()).toBe(true);
    const v = await docker.version();
    expect(v.version).toMatch(/^20\.10\./);
    // It runs in a namespace of its own, not the host's.
    expect(readlinkSync(`/proc/${engine!.pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
  });

  it('runs a --network none container that router/docker resolves to a live network namespace', async () => {
    const e = engine!;
    const id = await e.mustCli([
      'run',
      '-d',
      '--network',
      'none',
      '--name',
      'c1',
      BUSYBOX_IMAGE,
      'sleep',
      '600',
    ]);
    const { container, netnsPath } = await docker.containerNetns('c1');
    expect(container.id).toBe(id);
    expect(container).toMatchObject({ name: 'c1', running: true, networkMode: 'none' });
    expect(netnsPath).toBe(`/proc/${container.pid}/ns/net`);
    expect(existsSync(netnsPath)).toBe(true);
    const ns = readlinkSync(netnsPath);
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(ns).not.toBe(readlinkSync(`/proc/${e.pid}/ns/net`));
    // The namespace holds only loopback: it is ready for `weft attach`.
    const links = await mustSh('nsenter', [`--net=${netnsPath}`, 'ip', '-o', 'link', 'show']);
    expect(
      links
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1]!.trim()),
    ).toEqual(['lo']);
    // Resolving by id prefix gives the same container.
    expect((await docker.inspectContainer(id.slice(0, 12))).pid).toBe(container.pid);
    // As `weft attach` resolves its target: by name (keyed by the container id) or by pid.
    const byName = await resolveAttachTarget('c1', { docker: () => docker });
    expect([byName.kind, byName.key, byName.netnsPath]).toEqual(['docker', id, netnsPath]);
    const byPid = await resolveAttachTarget(`pid:${container.pid}`, { docker: () => docker });
    expect(byPid.key).toMatch(/^netns-\d+-\d+$/);
  });

  it('can be wired to a simulated host: reached from a lab namespace, through the socket and /proc', async () => {
    // What `weft attach <container>` does from a host namespace, by hand.
    const lab = await Lab.create(1);
    try {
      const h1 = lab.host(1).ns;
      const inspect = await lab.mustExec(h1, DOCKER_CLI, [
        '-H',
        engine!.dockerHost,
        'inspect',
        '-f',
        '{{.State.Pid}}',
        'c1',
      ]);
      const pid = Number(inspect.trim());
      expect(pid).toBe((await docker.inspectContainer('c1')).pid);
      await lab.ipIn(h1, [
        'link',
        'add',
        'vc1',
        'type',
        'veth',
        'peer',
        'name',
        'eth1',
        'netns',
        String(pid),
      ]);
      await lab.ipIn(h1, ['addr', 'add', '10.32.0.1/24', 'dev', 'vc1']);
      await lab.ipIn(h1, ['link', 'set', 'vc1', 'up']);
      await mustSh('nsenter', [
        `--net=/proc/${pid}/ns/net`,
        'ip',
        'addr',
        'add',
        '10.32.0.2/24',
        'dev',
        'eth1',
      ]);
      await mustSh('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', 'link', 'set', 'eth1', 'up']);
      // The container's own busybox ping reaches the simulated host.
      await engine!.mustCli(['exec', 'c1', 'ping', '-c', '1', '-W', '2', '10.32.0.1']);
    } finally {
      await lab.cleanup();
    }
    // The container's end goes with the host's namespace. The kernel tears a
    // deleted namespace down asynchronously (cleanup_net runs in a workqueue),
    // so the peer disappears a moment later, not at once.
    const netns = `--net=/proc/${(await docker.inspectContainer('c1')).pid}/ns/net`;
    let links = '';
    for (let i = 0; i < 100; i++) {
      links = await mustSh('nsenter', [netns, 'ip', '-o', 'link']);
      if (!links.includes('eth1')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(links).not.toContain('eth1');
  });

  it('ships busybox applets that the network tests use', async () => {
    const out = await engine!.mustCli([
      'run',
      '--rm',
      '--network',
      'none',
      BUSYBOX_IMAGE,
      'sh',
      '-c',
      'ip link set lo up && ping -c 1 -W 2 127.0.0.1 >/dev/null && for a in nc wget httpd ifconfig route; do which $a; done',
    ]);
    expect(out.split('\n')).toEqual(['/bin/nc', '/bin/wget', '/bin/httpd', '/bin/ifconfig', '/bin/route']);
  });

  it('gives typed errors for a stopped container and an unknown one', async () => {
    const e = engine!;
    await e.mustCli(['create', '--network', 'none', '--name', 'c2', BUSYBOX_IMAGE, 'true']);
    const stopped = await docker.containerNetns('c2').catch((x: unknown) => x);
    expect(stopped).toBeInstanceOf(WeftError);
    expect((stopped as WeftError).code).toBe('CONTAINER_NOT_RUNNING');
    expect((stopped as WeftError).message).toBe('Docker container c2 is not running (created)');
    const missing = await docker.inspectContainer('no-such-container').catch((x: unknown) => x);
    expect((missing as WeftError).code).toBe('NOT_FOUND');
  });

  it('stops with everything it started and leaves no trace on the host', async () => {
    const e = engine!;
    const { container } = await docker.containerNetns('c1');
    const mountNs = e.mountNs;
    expect(pidsInMountNs(mountNs).length).toBeGreaterThanOrEqual(2); // dockerd, containerd, shims
    expect(cgroupDirs(e.cgroupParent).length).toBeGreaterThan(0);
    await e.stop();
    engine = undefined;

    expect(isAlive(e.pid)).toBe(false);
    expect(isAlive(container.pid)).toBe(false);
    expect(pidsInMountNs(mountNs)).toEqual([]);
    expect(cgroupDirs(e.cgroupParent)).toEqual([]);
    expect(existsSync(e.dir)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(e.dir);
    expect((await sh('ip', ['netns', 'list'])).stdout).not.toContain(e.netns);
    expect(rootLinks()).toEqual(linksBefore);
    expect(ipForward()).toBe(forwardBefore);
    // dockerd creates /run/docker/plugins and /etc/docker/key.json unless kept away.
    if (!runDockerBefore) expect(existsSync('/run/docker')).toBe(false);
    if (!etcKeyBefore) expect(existsSync('/etc/docker/key.json')).toBe(false);
    const after = await docker.ping().catch((x: unknown) => x);
    expect((after as WeftError).code).toBe('DOCKER_UNAVAILABLE');
  });
});

describe('the busybox image in podman', () => {
  let store: string;
  const podman = () => [
    '--root',
    join(store, 'root'),
    '--runroot',
    join(store, 'run'),
    '--storage-driver',
    'vfs',
  ];

  beforeAll(() => {
    store = mkdtempSync(join(tmpdir(), 'weft-podman-store-'));
  });
  afterAll(async () => {
    await sh('podman', [...podman(), 'rmi', '--all', '--force']);
    rmSync(store, { recursive: true, force: true });
  });

  it('imports into a private store from the same cached tarball', async () => {
    const tar = await busyboxRootfsTar();
    expect(await busyboxRootfsTar()).toBe(tar);
    const ref = await importPodmanImage({ podmanArgs: podman() });
    expect((await sh('podman', [...podman(), 'image', 'exists', ref])).code).toBe(0);
    const files = await mustSh('tar', ['-tvf', tar]);
    expect(files).toMatch(/ \.\/bin\/busybox\n/);
    expect(files).toMatch(/\.\/bin\/sh -> busybox/);
  });
});
