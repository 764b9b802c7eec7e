/**
 * `weft attach` with a real Docker engine (Debian's docker.io, a private
 * dockerd started by the test: test/runtime/docker-engine.ts):
 *
 *   h1 198.18.0.1: weft router ─┐ mesh ┌─ weft router :h2 198.18.0.2
 *     docker container c1 ◄─────┘      └────► docker container c2
 *     (--network none, attached by name)      (attached by id prefix)
 *
 * The two containers ping each other over the overlay; `weft ps` names them by
 * their Docker ids; `weft expose` makes c1 reachable from h1 and lets c1 reach
 * h2's underlay address through masquerading; `weft hide` removes that;
 * `weft detach` removes the interface and releases the address, also for a
 * container that has stopped meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, importDockerImage } from '../runtime/busybox-image.js';
import { type DockerEngine, startDockerEngine } from '../runtime/docker-engine.js';
import { type ExecResult, type Host, Lab } from './lab.js';
import {
  apiRequest,
  assertBuilt,
  makeDataRoot,
  type RouterProcess,
  removeDataRoot,
  startRouter,
  stopRouter,
  waitFor,
  waitMeshAndRing,
  weftCli,
} from './routers.js';

let lab: Lab;
let root: string;
let engine: DockerEngine;
const routers: RouterProcess[] = [];
const ids: Record<string, string> = {};
const addr: Record<string, string> = {};

const h = (i: number): Host => lab.host(i);
const cli = (i: number, args: string[]) => weftCli(lab, h(i), args, { DOCKER_HOST: engine.dockerHost });
const ipOf = (cidr: string) => cidr.split('/')[0]!;

function ok(r: ExecResult): string {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r.stdout;
}

/** Run a command in a container's network namespace as root on the host (busybox `ip`, no capabilities needed). */
async function inContainer(name: string, args: string[]): Promise<ExecResult> {
  const { netnsPath } = await engine.client.containerNetns(name);
  return lab.exec(h(1).ns, 'nsenter', [`--net=${netnsPath}`, ...args]);
}

beforeAll(async () => {
  assertBuilt();
  lab = await Lab.create(2);
  root = makeDataRoot(lab);
  for (const i of [1, 2]) {
    routers.push(
      await startRouter(lab, h(i), root, {
        args: ['--ipalloc-init', 'consensus=2'],
        peers: i === 2 ? [h(1).ip] : [],
      }),
    );
  }
  engine = await startDockerEngine();
  await importDockerImage((args) => engine.mustCli(args));
  for (const name of ['c1', 'c2']) ids[name] = await engine.runDetached(name, { image: BUSYBOX_IMAGE });
  await waitMeshAndRing(lab, routers, { encrypted: false });
}, 180_000);

afterAll(async () => {
  await engine?.stop();
  for (const r of routers) await stopRouter(lab, r).catch(() => undefined);
  await lab?.cleanup();
  if (root) removeDataRoot(root);
}, 120_000);

describe('weft attach with Docker containers', () => {
  it('attaches a --network none container by name on h1 and one by id prefix on h2; they ping each other', async () => {
    addr.c1 = ok(await cli(1, ['attach', 'c1'])).trim();
    addr.c2 = ok(await cli(2, ['attach', ids.c2!.slice(0, 12)])).trim();
    expect(addr.c1).toMatch(/^10\.(3[2-9]|4[0-7])\.\d+\.\d+\/12$/);
    expect(addr.c2).not.toBe(addr.c1);
    const links = await engine.mustCli(['exec', 'c1', 'ip', '-o', 'addr', 'show', 'dev', 'ethwe']);
    expect(links).toContain(addr.c1);
    const ping = await waitFor('c1 → c2 over the overlay', async () => {
      const r = await engine.cli(['exec', 'c1', 'ping', '-c', '1', '-W', '1', ipOf(addr.c2!)]);
      return r.code === 0 ? r : undefined;
    });
    expect(ping.stdout).toContain('1 packets received');
    const back = await engine.cli(['exec', 'c2', 'ping', '-c', '3', '-i', '0.2', '-W', '2', ipOf(addr.c1)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
  });

  it('ps shows each container by its short Docker id, with the MAC of ethwe', async () => {
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(
      await engine.mustCli(['exec', 'c1', 'ip', 'link', 'show', 'ethwe']),
    )![1]!;
    const ps = await waitFor('the bridge to know c1', async () => {
      const out = ok(await cli(1, ['ps']));
      return out.includes(mac) ? out : undefined;
    });
    expect(ps).toBe(`${ids.c1!.slice(0, 12)} ${mac} ${addr.c1}\n`);
  });

  it('expose: the host reaches c1, and c1 reaches an address outside the overlay through masquerading', async () => {
    const exposed = ok(await cli(1, ['expose'])).trim();
    expect((await lab.exec(h(1).ns, 'ping', ['-c', '1', '-W', '2', ipOf(addr.c1!)])).code).toBe(0);
    // c1's way to the underlay: via its host's overlay address. h2 has no route back to the overlay,
    // so only a masqueraded packet (source rewritten to 198.18.0.1) gets an answer.
    const route = await inContainer('c1', ['ip', 'route', 'add', '198.18.0.0/24', 'via', ipOf(exposed)]);
    expect(route.code, route.stderr).toBe(0);
    const out = await engine.cli(['exec', 'c1', 'ping', '-c', '2', '-i', '0.2', '-W', '2', h(2).ip]);
    expect(out.code, out.stdout + out.stderr).toBe(0);

    ok(await cli(1, ['hide']));
    expect((await engine.cli(['exec', 'c1', 'ping', '-c', '1', '-W', '1', h(2).ip])).code).not.toBe(0);
    expect((await lab.exec(h(1).ns, 'ping', ['-c', '1', '-W', '1', ipOf(addr.c1!)])).code).not.toBe(0);
    expect((await lab.exec(h(1).ns, 'nft', ['list', 'table', 'ip', 'weft'])).code).not.toBe(0);
  });

  it('detach removes ethwe and releases the address', async () => {
    expect(ok(await cli(1, ['detach', 'c1']))).toBe(`${ipOf(addr.c1!)}\n`);
    expect(await engine.mustCli(['exec', 'c1', 'ip', '-o', 'link', 'show'])).not.toContain('ethwe');
    const held = await apiRequest(lab, h(1), 'GET', `/ip/${encodeURIComponent(`attach:${ids.c1}`)}`);
    expect(held.status).toBe(404);
    expect(ok(await cli(1, ['ps']))).toBe('');
  });

  it('detach of a container that stopped meanwhile still releases its address', async () => {
    await engine.mustCli(['stop', '-t', '0', 'c2']);
    const ps = JSON.parse(ok(await cli(2, ['ps', '--json']))) as Array<{ id: string; state: string }>;
    expect(ps).toEqual([expect.objectContaining({ id: `attach:${ids.c2}`, state: 'no-device' })]);
    expect(ok(await cli(2, ['detach', 'c2']))).toBe(`${ipOf(addr.c2!)}\n`);
    expect(ok(await cli(2, ['ps']))).toBe('');
  });
});
