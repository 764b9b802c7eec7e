/**
 * Where the Docker Engine API is: `DOCKER_HOST=unix:///path` as the docker CLI
 * reads it, else /var/run/docker.sock. Only unix sockets: the engine's TCP
 * endpoint is either unauthenticated (root on the host for anyone who reaches
 * it) or needs TLS client certificates, and weft attach runs on the host
 * anyway.
 */
import { WeftError } from '../../common/errors.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST?.trim();
  if (!host) return DEFAULT_DOCKER_SOCKET;
  const m = /^unix:\/\/(\/.+)$/.exec(host);
  if (m) return m[1]!;
  throw new WeftError(
    'BAD_REQUEST',
    `DOCKER_HOST=${host} is not supported: weft talks to the Docker daemon only over a local unix socket (unix:///path)`,
    { dockerHost: host },
  );
}
