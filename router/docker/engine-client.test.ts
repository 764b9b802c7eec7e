import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import { dockerSocketPath } from './docker-host.js';
import { DockerClient, engineMessage } from './engine-client.js';

// The client against a fake Engine API served on a real unix socket, so the
// HTTP-over-unix path, status codes and error mapping are all exercised.

const ID = 'a'.repeat(64);

function inspectBody(over: Record<string, unknown> = {}) {
  return {
    Id: ID,
    Name: '/web',
    State: { Status: 'running', Running: true, Paused: false, Pid: 4242 },
    HostConfig: { NetworkMode: 'none' },
    ...over,
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let dir: string;
let server: Server | undefined;
let seen: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'weft-docker-client-'));
  seen = [];
});
afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
  }
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function fakeEngine(handler: Handler): Promise<DockerClient> {
  const socketPath = join(dir, 'docker.sock');
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server!.listen(socketPath, r));
  return new DockerClient({ socketPath, timeoutMs: 300 });
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function failure(p: Promise<unknown>): Promise<WeftError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(WeftError);
  return e as WeftError;
}

describe('DockerClient', () => {
  it('inspects a container by name and gives its network namespace path', async () => {
    const docker = await fakeEngine((_req, res) => json(res, 200, inspectBody()));
    const { container, netnsPath } = await docker.containerNetns('web');
    expect(container).toEqual({
      id: ID,
      name: 'web',
      pid: 4242,
      running: true,
      status: 'running',
      networkMode: 'none',
    });
    expect(netnsPath).toBe('/proc/4242/ns/net');
    expect(seen).toEqual(['GET /containers/web/json']);
  });

  it('accepts Docker’s leading slash and id prefixes, and refuses refs that are not names or ids', async () => {
    const docker = await fakeEngine((_req, res) => json(res, 200, inspectBody()));
    await docker.inspectContainer('/web');
    await docker.inspectContainer('aaaaaaaaaaaa');
    expect(seen).toEqual(['GET /containers/web/json', 'GET /containers/aaaaaaaaaaaa/json']);
    for (const bad of ['', '../images', 'a/b', 'x?all=1', '-rf', 'a b']) {
      expect((await failure(docker.inspectContainer(bad))).code).toBe('INVALID_CONTAINER_ID');
    }
    expect(seen).toHaveLength(2);
  });

  it('says NOT_FOUND for a container the engine does not know', async () => {
    const docker = await fakeEngine((_req, res) => json(res, 404, { message: 'No such container: ghost' }));
    const e = await failure(docker.inspectContainer('ghost'));
    expect([e.code, e.message]).toEqual(['NOT_FOUND', 'no such Docker container: ghost']);
  });

  it('says CONTAINER_NOT_RUNNING for an exited container, naming its state', async () => {
    const docker = await fakeEngine((_req, res) =>
      json(res, 200, inspectBody({ State: { Status: 'exited', Running: false, Pid: 0 } })),
    );
    const e = await failure(docker.containerNetns('web'));
    expect(e.code).toBe('CONTAINER_NOT_RUNNING');
    expect(e.message).toBe('Docker container web is not running (exited)');
    expect((await docker.inspectContainer('web')).running).toBe(false);
  });

  it('says DOCKER_UNAVAILABLE when there is no socket, with a hint', async () => {
    const docker = new DockerClient({ socketPath: join(dir, 'missing.sock') });
    const e = await failure(docker.inspectContainer('web'));
    expect(e.code).toBe('DOCKER_UNAVAILABLE');
    expect(e.message).toContain('is dockerd running?');
    expect(e.details?.cause).toBe('ENOENT');
  });

  it('says DOCKER_UNAVAILABLE when nothing listens on the socket path', async () => {
    const path = join(dir, 'stale.sock');
    writeFileSync(path, '');
    const e = await failure(new DockerClient({ socketPath: path }).ping());
    expect(e.code).toBe('DOCKER_UNAVAILABLE');
    expect(e.details?.cause).toBe('ECONNREFUSED');
  });

  it('says DOCKER_UNAVAILABLE when the engine does not answer in time', async () => {
    const docker = await fakeEngine(() => {
      /* never answers */
    });
    const e = await failure(docker.inspectContainer('web'));
    expect(e.code).toBe('DOCKER_UNAVAILABLE');
    expect(e.message).toContain('no answer within 300 ms');
  });

  it.each([
    ['not JSON', 'nope'],
    ['an array', []],
    ['a short id', inspectBody({ Id: 'abc' })],
    ['no State', inspectBody({ State: null })],
    ['a string pid', inspectBody({ State: { Running: true, Pid: '1' } })],
    ['a negative pid', inspectBody({ State: { Running: true, Pid: -1 } })],
  ])('refuses an inspect answer with %s as INTERNAL, without crashing', async (_what, body) => {
    const docker = await fakeEngine((_req, res) => json(res, 200, body));
    const e = await failure(docker.inspectContainer('web'));
    expect(e.code).toBe('INTERNAL');
  });

  it('reports other engine errors with the engine’s message', async () => {
    const docker = await fakeEngine((_req, res) => json(res, 500, { message: 'the disk is on fire' }));
    const e = await failure(docker.inspectContainer('web'));
    expect(e.message).toBe('the Docker daemon answered /containers/web/json with 500: the disk is on fire');
  });

  it('refuses answers larger than the cap', async () => {
    const docker = await fakeEngine((_req, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(5 * 1024 * 1024, 32));
    });
    const e = await failure(docker.inspectContainer('web'));
    expect(e.message).toContain('larger than');
  });

  it('pings and reads the version', async () => {
    const docker = await fakeEngine((req, res) => {
      if (req.url === '/_ping') res.end('OK');
      else json(res, 200, { Version: '20.10.24', ApiVersion: '1.41' });
    });
    expect(await docker.ping()).toBe(true);
    expect(await docker.version()).toEqual({ version: '20.10.24', apiVersion: '1.41' });
  });
});

describe('dockerSocketPath', () => {
  it('uses DOCKER_HOST=unix://… and defaults to /var/run/docker.sock', () => {
    expect(dockerSocketPath({})).toBe('/var/run/docker.sock');
    expect(dockerSocketPath({ DOCKER_HOST: '' })).toBe('/var/run/docker.sock');
    expect(dockerSocketPath({ DOCKER_HOST: 'unix:///tmp/x/docker.sock' })).toBe('/tmp/x/docker.sock');
  });

  it('refuses TCP and other schemes with a clear message', () => {
    for (const h of ['tcp://127.0.0.1:2375', 'ssh://host', 'unix://relative']) {
      expect(() => dockerSocketPath({ DOCKER_HOST: h })).toThrow(/only over a local unix socket/);
    }
  });
});

describe('engineMessage', () => {
  it('extracts the message or shows the body cut short', () => {
    expect(engineMessage('{"message":"x"}')).toBe('x');
    expect(engineMessage(`  ${'y'.repeat(300)}`)).toHaveLength(200);
  });
});
