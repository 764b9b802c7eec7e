/**
 * The router call of http.ts over the weft_sys addon's TCP helpers instead of
 * node:net: the plugin executables use it because loading Node's net and
 * stream modules, and running the exchange through the event loop, costs
 * more than the rest of a CNI call's own work. Same bytes, same answers, same
 * errors (ROUTER_UNAVAILABLE, so CNI code 11) as `httpRequest`.
 *
 * The waits block the thread, with every one bounded by the call's deadline.
 * The request is sent at once (the router starts allocating), and the thread
 * blocks for the answer only after the work queued meanwhile — the same
 * verb's kernel calls, which complete in microtasks — has run. Not for a
 * process that serves the router API itself (the tests' fake router runs
 * in-process: they use `httpRequest`).
 */
import { closeSync } from 'node:fs';
import { loadWeftSys } from '../../router/kernel/sys.js';
import { elapsedMs } from '../clock.js';
import type { RouterEndpoint } from '../config.js';
import { formatRequest, type HttpRequestFn, MAX_RESPONSE_BYTES, parseResponse, unavailable } from './http.js';

/** The config allows a dotted IPv4 address or `localhost`, which is the router's loopback address. */
const ipv4Of = (ep: RouterEndpoint): string => (ep.host === 'localhost' ? '127.0.0.1' : ep.host);

export const nativeHttpRequest: HttpRequestFn = async (ep, method, path, opts) => {
  const sys = loadWeftSys();
  const deadline = elapsedMs() + opts.timeoutMs;
  const left = () => Math.max(0, Math.ceil(deadline - elapsedMs()));
  const failure = (e: unknown) => {
    const code = (e as { code?: unknown }).code;
    if (code === 'ETIMEDOUT')
      return unavailable(ep, `no answer to ${method} ${path} within ${opts.timeoutMs} ms`);
    if (code === 'EMSGSIZE') return unavailable(ep, 'response too large');
    return unavailable(ep, typeof code === 'string' ? code : (e as Error).message);
  };
  const request = Buffer.from(formatRequest(ep, method, path, opts.body));
  let fd: number;
  try {
    fd = sys.tcpConnect(ipv4Of(ep), ep.port);
  } catch (e) {
    throw failure(e);
  }
  try {
    // Without `after`, this runs before the caller gets its promise back.
    if (opts.after) await opts.after;
    try {
      sys.sockSendAll(fd, request, left());
    } catch (e) {
      throw failure(e);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    let raw: Buffer;
    try {
      raw = sys.sockRecvAll(fd, left(), MAX_RESPONSE_BYTES);
    } catch (e) {
      throw failure(e);
    }
    const r = parseResponse(raw);
    if (!r) throw unavailable(ep, `malformed HTTP response to ${method} ${path}`);
    return r;
  } finally {
    closeSync(fd);
  }
};
