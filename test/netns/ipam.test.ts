/**
 * IPAM on real `weft router` processes, one per simulated host:
 *
 *        ┌──────────── underlay bridge (198.18.0.0/24) ────────────┐
 *        h1 .1                 h2 .2 → h1                 h3 .3 → h1
 *        router                router                     router
 *        └────────── --ipalloc-init consensus=3, --ipalloc-range 10.32.0.0/23 ──────────┘
 *
 * The three routers agree on one ring by consensus; hundreds of allocations
 * made concurrently on all three are unique; a kill -9 of a router while it
 * is allocating, and its restart from the data dir, loses nothing it
 * acknowledged; after a router is stopped for good, rmpeer lets the other two
 * hand out its whole share.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, type IpamAnswer, ipamRequests, startIpamRequests } from './ipam-client.js';
import { Lab } from './lab.js';
import {
  getReport,
  makeDataRoot,
  type RouterProcess,
  removeDataRoot,
  sleep,
  startRouter,
  stopRouter,
  waitFor,
} from './routers.js';

const PASSWORD = 'ipam netns suite';
const RANGE_ARGS = ['--ipalloc-range', '10.32.0.0/23', '--ipalloc-init', 'consensus=3'];
const USABLE = 512 - 2;

interface AddressBody {
  containerId: string;
  address: string;
  ip: string;
  range: string;
}

function ipOf(a: IpamAnswer): string {
  if (a.status !== 200) throw new Error(`request ${a.i} failed: ${a.status} ${JSON.stringify(a.body)}`);
  return (a.body as AddressBody).ip;
}

describe('IPAM on real routers', () => {
  let lab: Lab;
  let root: string;
  const routers: RouterProcess[] = [];
  const names: string[] = [];

  async function start(i: number, dataDir?: string): Promise<RouterProcess> {
    const h1 = lab.host(1).ip;
    return startRouter(lab, lab.host(i), root, {
      password: PASSWORD,
      peers: i === 1 ? [] : [h1],
      args: [...RANGE_ARGS, '--no-fastdp'],
      ...(dataDir ? { dataDir } : {}),
    });
  }

  async function ipamOf(i: number) {
    return (await getReport(lab, lab.host(i))).ipam as {
      state: string;
      ringId: string | null;
      owned: number;
    };
  }

  beforeAll(async () => {
    lab = await Lab.create(3);
    root = makeDataRoot(lab);
    // Started together, as a cluster is: all three are in the first ring.
    routers.push(...(await Promise.all([1, 2, 3].map((i) => start(i)))));
    for (const i of [1, 2, 3]) names.push((await getReport(lab, lab.host(i))).router.name);
  });

  afterAll(async () => {
    await lab?.cleanup();
    if (root) removeDataRoot(root);
  });

  it('three routers bootstrap one ring by consensus, each owning a share', async () => {
    const views = await waitFor('one ring on all three', async () => {
      const v = await Promise.all([1, 2, 3].map(ipamOf));
      return v.every((x) => x.state === 'ready') && new Set(v.map((x) => x.ringId)).size === 1
        ? v
        : undefined;
    });
    expect(views.reduce((n, v) => n + v.owned, 0)).toBe(512);
    for (const v of views) expect(v.owned).toBeGreaterThan(0);
  });

  it('hundreds of concurrent allocations on all three routers are unique', async () => {
    const per = 120;
    const answers = await Promise.all(
      [1, 2, 3].map((i) =>
        ipamRequests(
          lab,
          lab.host(i),
          Array.from({ length: per }, (_, k) => allocate(`h${i}-c${k}`)),
          24,
        ),
      ),
    );
    const ips = answers.flat().map(ipOf);
    expect(ips).toHaveLength(3 * per);
    expect(new Set(ips).size).toBe(3 * per);
    for (const a of answers.flat()) expect((a.body as AddressBody).range).toBe('10.32.0.0/23');
    // Repeating a request gives the same address (idempotent).
    const again = await ipamRequests(lab, lab.host(2), [allocate('h2-c0')]);
    expect(ipOf(again[0]!)).toBe(ipOf(answers[1]![0]!));
  });

  it('a kill -9 while allocating, and a restart from the data dir, loses nothing acknowledged', async () => {
    const r2 = routers[1]!;
    const run = startIpamRequests(
      lab,
      lab.host(2),
      Array.from({ length: 150 }, (_, k) => allocate(`kill-c${k}`)),
      8,
    );
    await waitFor('some allocations to be acknowledged', async () =>
      run.answers.length >= 20 ? true : undefined,
    );
    await stopRouter(lab, r2, 'SIGKILL');
    await run.done;
    const acked = run.answers.filter((a) => a.status === 200);
    expect(acked.length).toBeGreaterThanOrEqual(20);
    routers[1] = await start(2, r2.dataDir);
    await waitFor('router 2 ready again', async () =>
      (await ipamOf(2)).state === 'ready' ? true : undefined,
    );
    const lookups = await ipamRequests(
      lab,
      lab.host(2),
      acked.map((a) => ({ method: 'GET' as const, path: `/ip/${(a.body as AddressBody).containerId}` })),
    );
    for (const [k, l] of lookups.entries()) {
      expect(l.status).toBe(200);
      expect((l.body as { addresses: AddressBody[] }).addresses.map((x) => x.ip)).toEqual([ipOf(acked[k]!)]);
    }
    // Nothing acknowledged before the crash is handed out again afterwards.
    const after = await ipamRequests(
      lab,
      lab.host(2),
      Array.from({ length: 30 }, (_, k) => allocate(`after-c${k}`)),
    );
    const before = new Set(acked.map(ipOf));
    for (const a of after) if (a.status === 200) expect(before.has(ipOf(a))).toBe(false);
  });

  it('rmpeer of a stopped router lets the other two reuse its whole share', async () => {
    const listAll = async (i: number) =>
      (
        (await ipamRequests(lab, lab.host(i), [{ method: 'GET', path: '/ip' }]))[0]!.body as {
          addresses: AddressBody[];
        }
      ).addresses;
    await stopRouter(lab, routers[2]!, 'SIGTERM');
    const refused = await ipamRequests(lab, lab.host(1), [{ method: 'DELETE', path: `/peer/${names[1]}` }]);
    expect(refused[0]!.status).toBe(409);
    expect((refused[0]!.body as { error: { code: string } }).error.code).toBe('PEER_IS_LIVE');
    await waitFor('router 3 unreachable in status', async () => {
      const r = (await getReport(lab, lab.host(1))).ipam as { unreachable: unknown[] };
      return r.unreachable.length === 1 ? true : undefined;
    });
    const rm = await ipamRequests(lab, lab.host(1), [{ method: 'DELETE', path: `/peer/${names[2]}` }]);
    expect(rm[0]!.status).toBe(200);
    expect((rm[0]!.body as { addresses: number }).addresses).toBeGreaterThan(0);
    await sleep(500);
    // Allocate on 1 and 2 until both say the range is full.
    const held = (await listAll(1)).length + (await listAll(2)).length;
    let got = 0;
    for (let round = 0; round < 20; round++) {
      const res = await Promise.all(
        [1, 2].map((i) =>
          ipamRequests(
            lab,
            lab.host(i),
            Array.from({ length: 40 }, (_, k) => allocate(`rm-${round}-h${i}-c${k}`)),
            8,
          ),
        ),
      );
      const flat = res.flat();
      got += flat.filter((a) => a.status === 200).length;
      if (flat.every((a) => a.status !== 200)) break;
    }
    expect(held + got).toBe(USABLE);
    const ips = [...(await listAll(1)), ...(await listAll(2))].map((a) => a.ip);
    expect(new Set(ips).size).toBe(USABLE);
  });
});
