/**
 * A minimal HTTP/1.1 client over node:net for the router's loopback API: one
 * request per connection (`Connection: close`), a hard deadline on the whole
 * exchange, and failures as WeftError ROUTER_UNAVAILABLE (CNI code 11, "try
 * again later") — never a hang. node:http would do the same at twice the load
 * cost, which every CNI call pays.
 */
import { WeftError } from '../../common/errors.js';
import type { RouterEndpoint } from '../config.js';
import { nodeNet } from '../lazy.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Largest response we accept: the API's answers are a few hundred bytes. */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * How the plugins reach the router: over node:net (the default, usable in
 * any process) or the weft_sys addon (http-native.ts, what the plugin
 * executables use: it loads nothing of Node's networking stack).
 */
export type HttpRequestFn = (
  ep: RouterEndpoint,
  method: string,
  path: string,
  opts: HttpRequestOptions,
) => Promise<HttpResponse>;

export interface HttpRequestOptions {
  /** Deadline for the whole exchange (connect, send, answer). */
  readonly timeoutMs: number;
  readonly body?: string;
  /**
   * Connect at once but send the request only when this settles (and not at
   * all if it rejects: the request fails with its error). DEL uses it to
   * have the connection ready while the device is being removed.
   */
  readonly after?: Promise<unknown>;
}

export function unavailable(ep: RouterEndpoint, why: string): WeftError {
  return new WeftError(
    'ROUTER_UNAVAILABLE',
    `weft router at ${ep.host}:${ep.port} is not reachable: ${why}`,
    {
      detail: 'start it with `weft launch`, or check "router" in the network config',
    },
  );
}

function decodeChunked(raw: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let off = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', off);
    if (eol < 0) return undefined;
    const size = Number.parseInt(raw.subarray(off, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size) || size < 0) return undefined;
    if (size === 0) return Buffer.concat(parts);
    const start = eol + 2;
    if (start + size > raw.length) return undefined;
    parts.push(raw.subarray(start, start + size));
    off = start + size + 2;
  }
}

/** Parse a complete response (the server closed the connection). Undefined when malformed. */
export function parseResponse(raw: Buffer): HttpResponse | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] ([0-9]{3})/.exec(lines[0] ?? '');
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
  }
  let body: Buffer | undefined = raw.subarray(end + 4);
  if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') body = decodeChunked(body);
  else if (headers.has('content-length')) {
    const n = Number(headers.get('content-length'));
    if (!Number.isInteger(n) || n < 0 || n > body.length) return undefined;
    body = body.subarray(0, n);
  }
  if (!body) return undefined;
  return { status: Number(m[1]), headers, body: body.toString('utf8') };
}

/** The request's bytes: one request per connection, the server closes after answering. */
export function formatRequest(ep: RouterEndpoint, method: string, path: string, body = ''): string {
  return (
    `${method} ${path} HTTP/1.1\r\nHost: ${ep.host}:${ep.port}\r\nConnection: close\r\n` +
    `Accept: application/json, text/plain\r\n` +
    (body ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : '') +
    `\r\n${body}`
  );
}

export const httpRequest: HttpRequestFn = async (ep, method, path, opts) => {
  // Loaded on first use: verbs that never reach the router do not pay for node:net.
  const { connect } = nodeNet();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (e: Error | undefined, r?: HttpResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (e) reject(e);
      else resolve(r!);
    };
    // Handled below once connected; mark it handled now so an early rejection is not "unhandled".
    opts.after?.catch(() => {});
    const sock = connect({ host: ep.host, port: ep.port });
    const timer = setTimeout(
      () => finish(unavailable(ep, `no answer to ${method} ${path} within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    sock.on('error', (e: NodeJS.ErrnoException) => finish(unavailable(ep, e.code ?? e.message)));
    const request = formatRequest(ep, method, path, opts.body);
    sock.on('connect', () => {
      // write, not end: some servers drop a half-closed client before answering.
      if (!opts.after) sock.write(request);
      else
        opts.after.then(
          () => {
            if (!done) sock.write(request);
          },
          (e: unknown) => finish(e instanceof Error ? e : new Error(String(e))),
        );
    });
    sock.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_RESPONSE_BYTES) return finish(unavailable(ep, 'response too large'));
      chunks.push(d);
    });
    sock.on('end', () => {
      const r = parseResponse(Buffer.concat(chunks));
      if (r) finish(undefined, r);
      else finish(unavailable(ep, `malformed HTTP response to ${method} ${path}`));
    });
  });
};
