import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import type { Report } from '../api/report.js';
import { DATABASE_FILE, openDatabase } from '../store/database.js';
import { SqliteRouterState } from '../store/router-state-store.js';
import type { RouterConfig } from './config.js';
import { PID_FILE } from './data-dir.js';
import { type RunningRouter, startRouter } from './run.js';
import type { SubsystemFactory } from './subsystem.js';
import { tempDirs } from './test-support.js';

// The daemon's lifecycle in-process on loopback (ephemeral ports, no password,
// no metrics): what it persists, how subsystems plug in, and the order in
// which things start and stop.

const dirs = tempDirs('weft-run-');
const running: RunningRouter[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.shutdown('test over');
  dirs.removeAll();
});

function config(dataDir: string, over: Partial<RouterConfig> = {}): RouterConfig {
  return {
    name: undefined,
    nickname: 'unit',
    port: 0,
    host: '127.0.0.1',
    http: { host: '127.0.0.1', port: 0 },
    metrics: null,
    dataDir,
    password: undefined,
    connLimit: 10,
    discovery: true,
    logLevel: 'error',
    peers: [],
    ...over,
  };
}

async function start(cfg: RouterConfig, subsystems: SubsystemFactory[] = []): Promise<RunningRouter> {
  const r = await startRouter(cfg, { subsystems, ownProcess: false });
  running.push(r);
  return r;
}

describe('startRouter', () => {
  it('persists the derived name and the targets, and keeps the name across restarts', async () => {
    const dir = dirs.make();
    const r1 = await start(config(dir, { peers: ['127.0.0.1:1'] }));
    expect(existsSync(join(dir, PID_FILE))).toBe(true);
    const db = openDatabase(join(dir, DATABASE_FILE), { readonly: true });
    const state = new SqliteRouterState(db);
    expect([state.peerName(), state.directPeers()]).toEqual([r1.name, ['127.0.0.1:1']]);
    db.close();
    await r1.shutdown('restart');
    await r1.done;
    expect(existsSync(join(dir, PID_FILE))).toBe(false);
    running.splice(0);
    const r2 = await start(config(dir));
    expect(r2.name).toBe(r1.name);
    const report = (await (await fetch(`${r2.httpAddress}/report`)).json()) as Report;
    expect(report.router.targets.map((t) => t.address)).toEqual(['127.0.0.1:1']);
  });

  it('runs subsystems: channel registration, API extension, start after the mesh, stop before it', async () => {
    const events: string[] = [];
    const sub: SubsystemFactory = (ctx) => {
      ctx.mesh.registerChannel('unit', {
        onGossipUnicast: () => {},
        onGossipBroadcast: () => null,
        gossip: () => null,
        onGossip: () => null,
      });
      events.push(`created for ${ctx.name}`);
      return {
        name: 'unit',
        api: {
          name: 'unit',
          report: () => ({ hello: 'world' }),
          routes: (app) =>
            app.get('/unit', async () => {
              throw new WeftError('NOT_FOUND', 'nothing here');
            }),
        },
        start: () => {
          events.push(`started, mesh has ${ctx.mesh.report().peers.length} peer`);
        },
        stop: () => {
          // The mesh is still up while we stop.
          events.push(`stopped, mesh connections ${ctx.mesh.report().connections.length}`);
        },
      };
    };
    const r = await start(config(dirs.make()), [sub]);
    const report = (await (await fetch(`${r.httpAddress}/report`)).json()) as Report;
    expect(report.unit).toEqual({ hello: 'world' });
    const res = await fetch(`${r.httpAddress}/unit`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'nothing here' } });
    await r.shutdown('test');
    expect(events).toEqual([
      `created for ${r.name}`,
      'started, mesh has 1 peer',
      'stopped, mesh connections 0',
    ]);
    // The API is gone after shutdown.
    await expect(fetch(`${r.httpAddress}/report`)).rejects.toThrow();
  });

  it('a subsystem can ask the router to shut down', async () => {
    let ask: ((reason: string) => void) | undefined;
    const leaver: SubsystemFactory = (ctx) => {
      ask = ctx.requestShutdown;
      return { name: 'leaver', stop: () => {} };
    };
    const r = await start(config(dirs.make()), [leaver]);
    ask!('left the ring');
    await r.done;
    await expect(fetch(`${r.httpAddress}/report`)).rejects.toThrow();
  });

  it('a failing subsystem aborts the start and releases everything', async () => {
    const dir = dirs.make();
    const boom: SubsystemFactory = () => {
      throw new WeftError('BAD_REQUEST', 'subsystem refused its flags');
    };
    await expect(startRouter(config(dir), { subsystems: [boom], ownProcess: false })).rejects.toThrow(
      'subsystem refused its flags',
    );
    expect(existsSync(join(dir, PID_FILE))).toBe(false);
    // The data dir is free again: a second start succeeds.
    await start(config(dir));
  });

  it('an HTTP port in use is a WeftError naming the flag, and nothing is left running', async () => {
    const first = await start(config(dirs.make()));
    const port = Number(new URL(first.httpAddress).port);
    const dir = dirs.make();
    const e = await startRouter(config(dir, { http: { host: '127.0.0.1', port } }), {
      ownProcess: false,
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WeftError);
    expect((e as WeftError).message).toMatch(/^cannot listen on --http-addr 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    expect(existsSync(join(dir, PID_FILE))).toBe(false);
  });
});
