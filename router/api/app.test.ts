import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import { buildApi } from './app.js';
import type { ApiExtension } from './extension.js';
import type { MeshControl } from './mesh-control.js';
import type { RouterReport } from './report.js';

// The API over a fake mesh: what each route returns, what it passes to the
// mesh, and how every kind of failure turns into a JSON error body.

class FakeMesh implements MeshControl {
  targets: string[] = ['198.18.0.2:6783'];
  calls: string[] = [];
  fail: Error | undefined;
  report(): RouterReport {
    if (this.fail) throw this.fail;
    return {
      name: '02:00:00:00:00:01',
      nickname: 'h1',
      uid: '12345678901234567890',
      version: 3,
      shortId: 17,
      protocol: { name: 'weft', minVersion: 1, maxVersion: 1 },
      encryption: true,
      peerDiscovery: true,
      port: 6783,
      connLimit: 200,
      peers: [
        {
          name: '02:00:00:00:00:01',
          nickname: 'h1',
          uid: '12345678901234567890',
          version: 3,
          shortId: 17,
          connections: [
            {
              name: '02:00:00:00:00:02',
              nickname: 'h2',
              address: '198.18.0.2:6783',
              outbound: true,
              established: true,
            },
          ],
        },
        {
          name: '02:00:00:00:00:02',
          nickname: 'h2',
          uid: '2',
          version: 2,
          shortId: null,
          connections: [
            {
              name: '02:00:00:00:00:01',
              nickname: 'h1',
              address: '198.18.0.1:40000',
              outbound: false,
              established: true,
            },
          ],
        },
      ],
      connections: [
        {
          id: 1,
          address: '198.18.0.2:6783',
          outbound: true,
          state: 'established',
          info: 'established, encrypted',
          name: '02:00:00:00:00:02',
          nickname: 'h2',
          encrypted: true,
          overlay: { path: 'sleeve', encrypted: true, healthy: true, details: { rtt: 1 } },
        },
        {
          id: 2,
          address: '198.18.0.4:6783',
          outbound: true,
          state: 'handshake',
          info: 'Noise handshake',
          encrypted: false,
        },
      ],
      targets: [
        ...this.targets.map((address) => ({
          address,
          direct: true,
          state: 'satisfied',
          failures: 0,
          lastError: null,
        })),
        {
          address: '198.18.0.3:6783',
          direct: false,
          state: 'waiting',
          failures: 2,
          lastError: 'connection refused',
          retryInMs: 2500,
        },
      ],
      terminations: 1,
      unicastRoutes: { '02:00:00:00:00:02': '02:00:00:00:00:02' },
      topologyDigest: 'abc',
    };
  }
  directTargets(): string[] {
    return this.targets;
  }
  connect(addresses: string[], opts: { replace: boolean }): void {
    this.calls.push(`connect ${addresses.join(',')} replace=${opts.replace}`);
    this.targets = opts.replace ? addresses : [...new Set([...this.targets, ...addresses])];
  }
  forget(addresses: string[]): void {
    this.calls.push(`forget ${addresses.join(',')}`);
    this.targets = this.targets.filter((t) => !addresses.includes(t));
  }
}

const ipamExtension: ApiExtension = {
  name: 'ipam',
  report: () => ({ range: '10.32.0.0/12', status: 'ready' }),
  status: () => [
    ['Service', 'ipam'],
    ['Status', 'ready'],
  ],
  statusView: () => '10.32.0.0/12 owned by 02:00:00:00:00:01\n',
  routes: (app) =>
    app.get('/ip/:id', async (req) => {
      const id = (req.params as { id: string }).id;
      if (id === 'busy') throw new WeftError('RING_NOT_READY', 'ring not agreed yet', { quorum: 2 });
      return { id };
    }),
};

let app: FastifyInstance;
let mesh: FakeMesh;
let draining = false;
async function setup(): Promise<void> {
  mesh = new FakeMesh();
  draining = false;
  app = await buildApi({ mesh, version: '0.1.0', extensions: [ipamExtension], draining: () => draining });
}
afterEach(async () => {
  await app?.close();
});

describe('GET /report', () => {
  it('returns the version, the router section and extension sections', async () => {
    await setup();
    const r = await app.inject({ method: 'GET', url: '/report' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const body = r.json();
    expect(body.version).toBe('0.1.0');
    // Everything the mesh reports arrives, including fields the schema does not list.
    expect(body.router).toEqual(mesh.report());
    expect(body.router.connections[0].overlay.details).toEqual({ rtt: 1 });
    expect(body.ipam).toEqual({ range: '10.32.0.0/12', status: 'ready' });
  });
});

describe('GET /status', () => {
  it('renders the router block and extension blocks as text', async () => {
    await setup();
    const r = await app.inject({ method: 'GET', url: '/status' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/plain/);
    expect(r.body).toContain('Version: weft 0.1.0');
    expect(r.body).toMatch(/ +Name: 02:00:00:00:00:01\(h1\)/);
    expect(r.body).toMatch(/ +Encryption: enabled/);
    expect(r.body).toMatch(/ +Targets: 1\n/);
    expect(r.body).toMatch(/ +Connections: 3 \(1 established, 1 failed, 1 handshake\)/);
    expect(r.body).toMatch(/ +Peers: 2 \(with 2 established connections\)/);
    expect(r.body).toMatch(/ +Service: ipam\n +Status: ready/);
    // One column for the whole page: every label's colon lines up.
    const colons = new Set(
      r.body
        .split('\n')
        .filter(Boolean)
        .map((l) => l.indexOf(': ')),
    );
    expect(colons.size).toBe(1);
  });

  it('serves the peers, connections, targets and extension views', async () => {
    await setup();
    const peers = await app.inject({ method: 'GET', url: '/status/peers' });
    expect(peers.body).toContain('02:00:00:00:00:01(h1)\n   -> 198.18.0.2:6783');
    const conns = await app.inject({ method: 'GET', url: '/status/connections' });
    const lines = conns.body.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^-> 198\.18\.0\.2:6783 +established +encrypted +sleeve 02:00:00:00:00:02\(h2\) established, encrypted$/,
    );
    expect(lines[1]).toMatch(/^-> 198\.18\.0\.4:6783 +handshake +unencrypted +Noise handshake$/);
    expect(lines[2]).toMatch(/^-> 198\.18\.0\.3:6783 +failed +connection refused retry in 3s$/);
    expect((await app.inject({ method: 'GET', url: '/status/targets' })).body).toBe('198.18.0.2:6783\n');
    expect((await app.inject({ method: 'GET', url: '/status/ipam' })).body).toContain('owned by');
  });

  it('an unknown view is a NOT_FOUND error listing the views', async () => {
    await setup();
    const r = await app.inject({ method: 'GET', url: '/status/nope' });
    expect(r.statusCode).toBe(404);
    expect(r.json().error.code).toBe('NOT_FOUND');
    expect(r.json().error.details.views).toEqual(['peers', 'connections', 'targets', 'ipam']);
  });
});

describe('POST /connect and /forget', () => {
  it('passes normalised addresses from a JSON body to the mesh and returns the targets', async () => {
    await setup();
    const r = await app.inject({
      method: 'POST',
      url: '/connect',
      payload: { peers: ['198.18.0.3', 'h4:7000'] },
    });
    expect(r.statusCode).toBe(200);
    expect(mesh.calls).toEqual(['connect 198.18.0.3:6783,h4:7000 replace=false']);
    expect(r.json()).toEqual({ targets: ['198.18.0.2:6783', '198.18.0.3:6783', 'h4:7000'] });
  });

  it('accepts Weave-style query parameters and the replace option', async () => {
    await setup();
    const r = await app.inject({
      method: 'POST',
      url: '/connect?peer=198.18.0.5&peer=198.18.0.6&replace=true',
    });
    expect(r.statusCode).toBe(200);
    expect(mesh.calls).toEqual(['connect 198.18.0.5:6783,198.18.0.6:6783 replace=true']);
    expect(r.json().targets).toEqual(['198.18.0.5:6783', '198.18.0.6:6783']);
  });

  it('a malformed peer address is INVALID_PEER_ADDRESS and nothing reaches the mesh', async () => {
    await setup();
    const r = await app.inject({
      method: 'POST',
      url: '/connect',
      payload: { peers: ['198.18.0.3', '300.1.1.1:1'] },
    });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({
      error: {
        code: 'INVALID_PEER_ADDRESS',
        message: 'invalid peer address "300.1.1.1:1": want host[:port]',
        details: { addresses: ['300.1.1.1:1'] },
      },
    });
    expect(mesh.calls).toEqual([]);
  });

  it('forget removes targets and needs at least one peer', async () => {
    await setup();
    const r = await app.inject({ method: 'POST', url: '/forget', payload: { peers: ['198.18.0.2'] } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ targets: [] });
    const empty = await app.inject({ method: 'POST', url: '/forget', payload: {} });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error.code).toBe('BAD_REQUEST');
  });
});

describe('errors', () => {
  it('schema violations are BAD_REQUEST with the validation details', async () => {
    await setup();
    const r = await app.inject({ method: 'POST', url: '/connect', payload: { peers: ['x'], bogus: 1 } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe('BAD_REQUEST');
    expect(r.json().error.details.validation.length).toBeGreaterThan(0);
    const wrongType = await app.inject({ method: 'POST', url: '/connect', payload: { replace: 'perhaps' } });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error.code).toBe('BAD_REQUEST');
    expect(mesh.calls).toEqual([]);
  });

  it('malformed JSON is BAD_REQUEST, a wrong media type keeps its 415', async () => {
    await setup();
    const bad = await app.inject({
      method: 'POST',
      url: '/connect',
      headers: { 'content-type': 'application/json' },
      payload: '{"peers": [',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BAD_REQUEST');
    const media = await app.inject({
      method: 'POST',
      url: '/connect',
      headers: { 'content-type': 'application/x-whatever' },
      payload: 'x',
    });
    expect(media.statusCode).toBe(415);
    expect(media.json().error.code).toBe('BAD_REQUEST');
  });

  it('unknown routes are NOT_FOUND in the same JSON shape', async () => {
    await setup();
    const r = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /nope' } });
  });

  it('a WeftError from an extension route keeps its code, status and details', async () => {
    await setup();
    const r = await app.inject({ method: 'GET', url: '/ip/busy' });
    expect(r.statusCode).toBe(503);
    expect(r.json()).toEqual({
      error: { code: 'RING_NOT_READY', message: 'ring not agreed yet', details: { quorum: 2 } },
    });
    expect((await app.inject({ method: 'GET', url: '/ip/c1' })).json()).toEqual({ id: 'c1' });
  });

  it('an unexpected exception is INTERNAL without leaking its message', async () => {
    await setup();
    mesh.fail = new Error('secret internals');
    const r = await app.inject({ method: 'GET', url: '/report' });
    expect(r.statusCode).toBe(500);
    expect(r.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(r.body).not.toContain('secret internals');
  });

  it('while draining every request is SHUTTING_DOWN', async () => {
    await setup();
    draining = true;
    const r = await app.inject({ method: 'GET', url: '/status' });
    expect(r.statusCode).toBe(503);
    expect(r.json().error.code).toBe('SHUTTING_DOWN');
  });

  it('refuses an extension whose name collides with a built-in section', async () => {
    await expect(
      buildApi({ mesh: new FakeMesh(), version: 'x', extensions: [{ name: 'router' }] }),
    ).rejects.toThrow(/taken/);
  });
});
