/**
 * Real routers under a flood of unauthenticated connections (issue 7,
 * hardening). Routers on h1 and h2 share a password; a process on h3, which
 * does not know it, holds hundreds of connections to h1's mesh port open in a
 * loop: silent ones (slowloris), ones that announce a 4 MiB frame and send
 * 1 MiB of it before any handshake, and ones that send a junk Noise message.
 * Meanwhile: h1's memory stays bounded, its mesh with h2 stays established, a
 * legitimate router started on h4 during the flood still joins, h1 says in
 * its log that it refused connections, and afterwards nothing is left pending.
 * No log line or data-dir file of any router contains the password.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../router/api/report.js';
import { Lab } from '../netns/lab.js';
import {
  getReport,
  makeDataRoot,
  type RouterProcess,
  removeDataRoot,
  sleep,
  startRouter,
  waitFor,
} from '../netns/routers.js';

const PASSWORD = 'fuzz-hardening password 7f3a9c';
const FLOOD_MS = 25_000;
const SLOTS = 240;

/** Runs inside h3: bounded in time and connections, only to the lab address it is given. */
const ATTACKER = `
const net = require('node:net');
const [host, port, ms, slots] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const intro = Buffer.from([0x77, 0x65, 0x66, 0x74, 1, 1, 1, 0]);
const bigHeader = Buffer.from([0x00, 0x40, 0x00, 0x00]);
const body = Buffer.alloc(4 << 20, 0x41);
const junk = Buffer.concat([Buffer.from([0, 0, 0, 81, 7]), Buffer.alloc(80, 0x5a)]);
const end = Date.now() + ms;
const stats = { opened: 0, closedByPeer: 0, maxOpen: 0, open: 0 };
function slot(i, first) {
  if (Date.now() > end) return;
  const s = net.connect({ host, port });
  stats.opened++;
  stats.open++;
  stats.maxOpen = Math.max(stats.maxOpen, stats.open);
  s.on('connect', () => {
    const mode = i % 3;
    if (mode === 1) { s.write(intro); s.write(bigHeader); if (first) s.write(body.subarray(0, (4 << 20) - 64)); }
    else if (mode === 2) { s.write(intro); s.write(junk); }
  });
  s.on('error', () => {});
  s.on('close', () => { stats.open--; stats.closedByPeer++; setTimeout(() => slot(i, false), 50); });
  setTimeout(() => s.destroy(), Math.max(0, end - Date.now()));
}
for (let i = 0; i < slots; i++) slot(i, true);
setTimeout(() => { console.log(JSON.stringify(stats)); process.exit(0); }, ms + 1000);
`;

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

function established(r: Report, name: string): boolean {
  return r.router.connections.some((c) => c.name === name && c.state === 'established');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('a router flooded with unauthenticated connections', () => {
  let lab: Lab;
  let root: string;
  const routers: RouterProcess[] = [];

  beforeAll(async () => {
    lab = await Lab.create(4);
    root = makeDataRoot(lab);
    routers.push(await startRouter(lab, lab.host(1), root, { password: PASSWORD }));
    routers.push(await startRouter(lab, lab.host(2), root, { password: PASSWORD, peers: [lab.host(1).ip] }));
  });

  afterAll(async () => {
    await lab?.cleanup();
    if (root) removeDataRoot(root);
  });

  it('stays healthy, bounded and open to legitimate peers; logs no secret', async () => {
    const [h1, h2] = routers as [RouterProcess, RouterProcess];
    const name2 = (await getReport(lab, lab.host(2))).router.name;
    await waitFor(
      'h1 and h2 to connect',
      async () => established(await getReport(lab, lab.host(1)), name2) || undefined,
    );
    const pid = h1.child.pid!;
    const before = rssKiB(pid);

    const attacker: ChildProcess = lab.spawn(lab.host(3).ns, process.execPath, [
      '-e',
      ATTACKER,
      lab.host(1).ip,
      '6783',
      String(FLOOD_MS),
      String(SLOTS),
    ]);
    let attackerOut = '';
    attacker.stdout?.setEncoding('utf8').on('data', (c: string) => {
      attackerOut += c;
    });
    const attackerDone = new Promise<void>((r) => attacker.once('exit', () => r()));
    const floodStart = Date.now();

    // A legitimate router joins while the flood is on.
    await sleep(5_000);
    const h4 = await startRouter(lab, lab.host(4), root, { password: PASSWORD, peers: [lab.host(1).ip] });
    routers.push(h4);
    const name4 = (await getReport(lab, lab.host(4))).router.name;
    await waitFor(
      'h4 to join h1 during the flood',
      async () => established(await getReport(lab, lab.host(1)), name4) || undefined,
      30_000,
    );

    const joined = Date.now();
    let peak = before;
    while (attacker.exitCode === null) {
      peak = Math.max(peak, rssKiB(pid));
      expect(established(await getReport(lab, lab.host(1)), name2)).toBe(true);
      await sleep(1_000);
    }
    await attackerDone;
    const flood = JSON.parse(attackerOut.trim()) as { opened: number; closedByPeer: number; maxOpen: number };
    const joinedMs = joined - floodStart;
    console.log(
      `flood: ${flood.opened} connections, at most ${flood.maxOpen} open at once; router RSS ${Math.round(before / 1024)} MiB before, peak ${Math.round(peak / 1024)} MiB; h4 joined after ${joinedMs} ms of flood; h1 logged ${h1.logs.length} lines`,
    );
    // The flood was real: hundreds held open at once, thousands of connections in all.
    expect(flood.maxOpen).toBeGreaterThanOrEqual(SLOTS * 0.9);
    expect(flood.opened).toBeGreaterThan(SLOTS * 3);

    // Memory: 80 connections each sent all but 64 bytes of a 4 MiB frame before any handshake
    // (320 MiB that an 8 MiB pre-auth cap would buffer); what remains is the garbage of
    // thousands of short-lived sockets.
    expect(peak - before).toBeLessThan(160 * 1024);
    expect(
      h1.logs.some(
        (l) => l.msg === 'mesh: refusing incoming connections (unauthenticated connection limits)',
      ),
    ).toBe(true);
    expect(h1.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('handshake failed'))).toBe(true);

    // Afterwards nothing is left half-open, and the mesh is whole.
    await waitFor(
      'pending connections to drain',
      async () => {
        const r = await getReport(lab, lab.host(1));
        return (
          r.router.connections.every((c) => c.state === 'established' || c.state === 'dialing') || undefined
        );
      },
      20_000,
    );
    const r1 = await getReport(lab, lab.host(1));
    expect(established(r1, name2) && established(r1, name4)).toBe(true);

    // With a password nothing listens for VXLAN: a kernel VXLAN port on the bridge would take
    // unauthenticated, unencrypted frames from anyone who can send UDP to port 6784.
    const links = await lab.mustExec(lab.host(1).ns, 'ip', ['-o', 'link', 'show']);
    expect(links).not.toMatch(/weft-fastdp|weft-fdp-hb/);
    const udp = await lab.mustExec(lab.host(1).ns, 'ss', ['-H', '-u', '-l', '-n']);
    expect(udp).not.toMatch(/:6784\b/);

    // Secrets never logged, never stored in the clear.
    for (const r of routers) {
      const text = JSON.stringify(r.logs) + r.stderr;
      expect(text.includes(PASSWORD)).toBe(false);
      expect(r.logs.length).toBeGreaterThan(10);
      for (const f of filesUnder(r.dataDir)) expect(readFileSync(f).includes(PASSWORD), f).toBe(false);
    }
    void h2;
  }, 150_000);
});
