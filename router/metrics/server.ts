/**
 * The Prometheus endpoint: plain node:http (fastify would be a second app with
 * its own lifecycle for one route), GET /metrics in the text format 0.0.4.
 * Bound to loopback by default (127.0.0.1:6782, Weave's metrics port): metrics
 * reveal peers and address usage, so exposing them is the operator's choice
 * (`--metrics-addr 0.0.0.0:6782`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { WeftError } from '../../common/errors.js';
import { type Logger, nullLogger } from '../../common/logger.js';

export const METRICS_DEFAULT_ADDR = { host: '127.0.0.1', port: 6782 } as const;
export const METRICS_PATH = '/metrics';

export interface MetricsServer {
  /** "host:port" actually bound (the port is resolved when 0 was asked). */
  readonly address: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** Where to listen; default 127.0.0.1:6782. Parse `--metrics-addr` with `parseHttpAddr(s, '--metrics-addr')`. */
  addr?: { host: string; port: number };
  logger?: Logger;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

async function handle(registry: Registry, req: IncomingMessage, res: ServerResponse, log: Logger) {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    return;
  }
  if (path === '/') {
    send(res, 200, `weft metrics: GET ${METRICS_PATH}\n`);
    return;
  }
  if (path !== METRICS_PATH) {
    send(res, 404, 'not found\n');
    return;
  }
  try {
    const text = await registry.metrics();
    send(res, 200, text, { 'content-type': registry.contentType });
  } catch (err) {
    log.error({ err: String(err) }, 'rendering metrics failed');
    send(res, 500, 'rendering metrics failed\n');
  }
}

export async function startMetricsServer(
  registry: Registry,
  opts: MetricsServerOptions = {},
): Promise<MetricsServer> {
  const addr = opts.addr ?? METRICS_DEFAULT_ADDR;
  const log = opts.logger ?? nullLogger;
  const server = createServer((req, res) => {
    void handle(registry, req, res, log);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) =>
      reject(
        new WeftError(
          'BAD_REQUEST',
          `cannot listen on --metrics-addr ${addr.host}:${addr.port}: ${e.message}`,
          {
            host: addr.host,
            port: addr.port,
          },
        ),
      );
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
  server.on('error', (e) => log.error({ err: String(e) }, 'metrics server error'));
  const bound = server.address() as AddressInfo;
  const address = `${bound.address}:${bound.port}`;
  log.info({ address, path: METRICS_PATH }, 'metrics listening');
  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; do not wait for them to go idle.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
