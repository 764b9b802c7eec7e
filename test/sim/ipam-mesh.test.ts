/**
 * IPAM on the mesh simulator: the real IpamService (with a SQLite store in
 * memory that survives the simulated process) on real MeshRouter cores, so
 * ring gossip goes through the mesh's broadcast trees, unicast routes,
 * neighbour gossip and full-state exchanges on new connections — under
 * partitions, connection resets and crash/restart.
 *
 *   p1 ─ p2 ─ p3 ─ p4 ─ p5   (a chain of targets; discovery fills in the rest)
 */
import { describe, expect, it } from 'vitest';
import { formatIp, mustParseCidr } from '../../common/ip.js';
import { nullLogger } from '../../common/logger.js';
import { IpamService } from '../../router/ipam-service/service.js';
import { Database } from '../../router/store/database.js';
import { IpamStore } from '../../router/store/ipam-store.js';
import { type SimPeer, Simulation } from './index.js';

const RANGE = mustParseCidr('10.32.0.0/24');

interface Held {
  peer: string;
  owner: string;
  id: string;
}

function ipamCluster(seed: number, n: number) {
  const sim = new Simulation({ seed, latencyMs: 2, jitterMs: 3 });
  const services = new Map<SimPeer, IpamService>();
  const timers = {
    setTimeout: (fn: () => void, ms: number) => sim.queue.push(sim.clock.now() + Math.max(0, ms), fn),
    clearTimeout: (h: unknown) => {
      (h as { cancelled: boolean }).cancelled = true;
    },
  };
  const peers: SimPeer[] = [];
  for (let i = 0; i < n; i++) {
    peers.push(
      sim.addPeer({
        ...(i > 0 ? { targets: [peers[i - 1]!] } : {}),
        setup: ({ peer, router, storage }) => {
          // The database is the host's disk: it outlives the simulated process.
          let db = storage.get('db') as Database | undefined;
          if (!db) {
            db = Database.open(':memory:');
            storage.set('db', db);
          }
          services.get(peer)?.stop();
          const svc = new IpamService({
            config: {
              peer: peer.name,
              range: RANGE,
              init: { kind: 'consensus', size: n },
              allocationTimeoutMs: 10_000,
            },
            mesh: router,
            store: new IpamStore(db),
            clock: sim.clock,
            random: sim.random.fork(),
            logger: nullLogger,
            timers,
            defer: (fn) => sim.queue.push(sim.clock.now(), fn),
          });
          services.set(peer, svc);
          svc.start();
        },
      }),
    );
  }
  // A ledger of every acknowledged address: a second holder is a duplicate.
  const ledger = new Map<string, Held>();
  const duplicates: string[] = [];
  const allocate = (p: SimPeer, id: string) => {
    const svc = services.get(p)!;
    const owner = svc.status().self;
    svc.allocate(id).then(
      (a) => {
        const held = ledger.get(a.ip);
        if (held && (held.owner !== owner || held.id !== id)) {
          duplicates.push(
            `seed ${seed}: ${a.ip} given to ${p.nickname}/${id} while ${held.peer}/${held.id} holds it`,
          );
        }
        ledger.set(a.ip, { peer: p.nickname, owner, id });
      },
      () => {},
    );
  };
  return { sim, peers, services, ledger, duplicates, allocate };
}

describe('IPAM over the mesh simulator', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: bootstrap, allocations under partitions, resets and a crash; no duplicates; one ring`, async () => {
      const { sim, peers, services, ledger, duplicates, allocate } = ipamCluster(seed, 5);
      const ready = await sim.runUntil(
        () => peers.every((p) => services.get(p)!.status().state === 'ready'),
        {
          maxMs: 60_000,
        },
      );
      expect(ready).toBe(true);
      expect(new Set(peers.map((p) => services.get(p)!.status().ringId)).size).toBe(1);
      let id = 0;
      const burst = (who: SimPeer[], k: number) => {
        for (let i = 0; i < k; i++) for (const p of who) allocate(p, `c${id++}`);
      };
      burst(peers, 8);
      await sim.runFor(3_000);
      sim.partition(peers.slice(0, 2), peers.slice(2));
      burst(peers, 12);
      await sim.runFor(5_000);
      sim.lossy(300, 5_000);
      burst(peers, 4);
      await sim.runFor(6_000);
      sim.heal();
      sim.crash(peers[3]!);
      burst([peers[0]!, peers[4]!], 6);
      await sim.runFor(2_000);
      sim.start(peers[3]!); // restarts from its (in-memory) database
      for (const e of ledger.values()) {
        if (e.peer !== peers[3]!.nickname) continue;
        expect(
          services
            .get(peers[3]!)!
            .lookup(e.id)
            .map((a) => a.ip),
        ).toContain([...ledger].find(([, v]) => v === e)![0]);
      }
      burst(peers, 10);
      await sim.runFor(60_000);
      // One ring everywhere, covering the range; every peer's allocations inside its own space.
      const rings = peers.map((p) =>
        JSON.stringify(
          services
            .get(p)!
            .ring()
            .entries.map((e) => [e.first, e.owner]),
        ),
      );
      expect(new Set(rings).size).toBe(1);
      const view = services.get(peers[0]!)!.ring();
      expect(view.entries[0]!.first).toBe(formatIp(RANGE.addr));
      expect(view.entries.reduce((n, e) => n + e.size, 0)).toBe(256);
      for (const p of peers) {
        const svc = services.get(p)!;
        const mine = view.entries.filter((e) => e.owner === svc.status().self);
        for (const a of svc.all()) {
          const ip = Number(a.ip.split('.')[3]);
          expect(
            mine.some((e) => ip >= Number(e.first.split('.')[3]) && ip <= Number(e.last.split('.')[3])),
          ).toBe(true);
        }
        expect(svc.status().conflictsTotal).toBe(0);
      }
      expect(duplicates).toEqual([]);
      expect(ledger.size).toBeGreaterThan(100);
      for (const s of services.values()) s.stop();
    });
  }
});
