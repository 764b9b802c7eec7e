/**
 * A minimal Docker Engine API client over the engine's unix socket: enough for
 * `weft attach <container>` to find the container's network namespace
 * (/proc/<pid>/ns/net), with errors a user can act on. node:http only; the
 * paths are unversioned so the engine answers in its own current API version
 * (engines drop old versions: 29 refuses anything below 1.44), and we read
 * only fields that every version has (Id, Name, State, HostConfig.NetworkMode).
 */
import { request } from 'node:http';
import { WeftError } from '../../common/errors.js';
import { mustParseContainerRef } from './container-ref.js';
import { dockerSocketPath } from './docker-host.js';

export interface DockerClientOptions {
  /** Unix socket of the engine; default from DOCKER_HOST or /var/run/docker.sock. */
  socketPath?: string;
  /** Per request (default 5 s). */
  timeoutMs?: number;
}

export interface ContainerInfo {
  /** Full 64-hex id. */
  id: string;
  /** Name without Docker's leading "/". */
  name: string;
  /** PID of the container's init process in our PID namespace; 0 when not running. */
  pid: number;
  running: boolean;
  /** created | running | paused | restarting | removing | exited | dead */
  status: string;
  /** HostConfig.NetworkMode: "none", "bridge", "host", "container:<id>", a network name… */
  networkMode: string;
}

/** A response larger than this is not an inspect answer we want to parse. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

interface RawResponse {
  status: number;
  body: string;
}

export class DockerClient {
  readonly socketPath: string;
  private readonly timeoutMs: number;

  constructor(opts: DockerClientOptions = {}) {
    this.socketPath = opts.socketPath ?? dockerSocketPath();
    this.timeoutMs = opts.timeoutMs ?? 5_000;
  }

  private unavailable(why: string, cause?: string): WeftError {
    return new WeftError(
      'DOCKER_UNAVAILABLE',
      `the Docker daemon is not reachable at ${this.socketPath}: ${why}`,
      {
        socket: this.socketPath,
        ...(cause ? { cause } : {}),
      },
    );
  }

  private request(method: 'GET' | 'HEAD', path: string): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socketPath, method, path, headers: { host: 'docker' }, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy();
              reject(
                new WeftError(
                  'INTERNAL',
                  `the Docker daemon's answer to ${path} is larger than ${MAX_RESPONSE_BYTES} bytes`,
                ),
              );
              return;
            }
            chunks.push(c);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', (e) => reject(this.unavailable(`the connection broke (${e.message})`)));
        },
      );
      req.on('timeout', () => {
        req.destroy();
        reject(this.unavailable(`no answer within ${this.timeoutMs} ms`));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT')
          reject(
            this.unavailable(
              'no socket there (is dockerd running? set DOCKER_HOST=unix:///path otherwise)',
              e.code,
            ),
          );
        else if (e.code === 'ECONNREFUSED')
          reject(this.unavailable('nothing listens on the socket (is dockerd running?)', e.code));
        else if (e.code === 'EACCES' || e.code === 'EPERM')
          reject(this.unavailable('permission denied (run as root or in the docker group)', e.code));
        else reject(this.unavailable(e.message, e.code));
      });
      req.end();
    });
  }

  /** True when the engine answers `GET /_ping` with OK. */
  async ping(): Promise<boolean> {
    const r = await this.request('GET', '/_ping');
    return r.status === 200 && r.body.trim() === 'OK';
  }

  /** The engine's version and API version (for messages and checks). */
  async version(): Promise<{ version: string; apiVersion: string }> {
    const r = await this.request('GET', '/version');
    const doc = this.parse(r, '/version') as { Version?: unknown; ApiVersion?: unknown };
    if (typeof doc.Version !== 'string' || typeof doc.ApiVersion !== 'string')
      throw this.malformed('/version');
    return { version: doc.Version, apiVersion: doc.ApiVersion };
  }

  /** Inspect a container by name, id or unique id prefix. */
  async inspectContainer(ref: string): Promise<ContainerInfo> {
    const name = mustParseContainerRef(ref);
    const path = `/containers/${encodeURIComponent(name)}/json`;
    const r = await this.request('GET', path);
    if (r.status === 404) {
      throw new WeftError('NOT_FOUND', `no such Docker container: ${name}`, { container: name });
    }
    return toContainerInfo(this.parse(r, path), () => this.malformed(path));
  }

  /**
   * The network namespace of a running container, as a path any process on
   * the host can open (`/proc/<pid>/ns/net`), with the inspect answer.
   */
  async containerNetns(ref: string): Promise<{ container: ContainerInfo; netnsPath: string }> {
    const container = await this.inspectContainer(ref);
    if (!container.running || container.pid <= 0) {
      throw new WeftError(
        'CONTAINER_NOT_RUNNING',
        `Docker container ${container.name} is not running (${container.status})`,
        {
          container: container.name,
          id: container.id,
          status: container.status,
        },
      );
    }
    return { container, netnsPath: `/proc/${container.pid}/ns/net` };
  }

  private parse(r: RawResponse, path: string): unknown {
    if (r.status < 200 || r.status >= 300) {
      throw new WeftError(
        'INTERNAL',
        `the Docker daemon answered ${path} with ${r.status}: ${engineMessage(r.body)}`,
        {
          status: r.status,
        },
      );
    }
    try {
      return JSON.parse(r.body) as unknown;
    } catch {
      throw this.malformed(path);
    }
  }

  private malformed(path: string): WeftError {
    return new WeftError(
      'INTERNAL',
      `the Docker daemon's answer to ${path} is not what the Engine API documents`,
    );
  }
}

/** The engine's error bodies are {"message": "..."}; anything else is shown cut short. */
export function engineMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    /* not JSON */
  }
  return body.trim().slice(0, 200);
}

/** Validate an inspect answer's shape; anything unexpected is `malformed()`. */
export function toContainerInfo(doc: unknown, malformed: () => Error): ContainerInfo {
  const d = doc as {
    Id?: unknown;
    Name?: unknown;
    State?: Record<string, unknown>;
    HostConfig?: Record<string, unknown>;
  };
  if (d === null || typeof d !== 'object') throw malformed();
  const state = d.State;
  if (typeof d.Id !== 'string' || !/^[0-9a-f]{64}$/.test(d.Id)) throw malformed();
  if (typeof d.Name !== 'string' || state === null || typeof state !== 'object') throw malformed();
  const pid = state.Pid;
  const running = state.Running;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 0 || typeof running !== 'boolean')
    throw malformed();
  const status = typeof state.Status === 'string' ? state.Status : running ? 'running' : 'exited';
  const mode = d.HostConfig?.NetworkMode;
  return {
    id: d.Id,
    name: d.Name.replace(/^\//, ''),
    pid,
    running,
    status,
    networkMode: typeof mode === 'string' ? mode : 'default',
  };
}
