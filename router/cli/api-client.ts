/**
 * The CLI's client for the local router's HTTP API. Every failure becomes a
 * WeftError with one clear line: ROUTER_UNAVAILABLE when nothing answers,
 * otherwise the code and message the router sent.
 */
import { ERROR_CATALOGUE, type ErrorCode, WeftError } from '../../common/errors.js';

export const DEFAULT_HTTP_ADDR = '127.0.0.1:6784';

export class ApiClient {
  constructor(
    readonly httpAddr: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private url(path: string): string {
    return `http://${this.httpAddr}${path}`;
  }

  async request(method: 'GET' | 'POST' | 'DELETE' | 'PUT', path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new WeftError(
        'ROUTER_UNAVAILABLE',
        `the weft router is not reachable at ${this.httpAddr} (is it running?)`,
        {
          cause: (e as Error).cause ? String((e as Error).cause) : String(e),
        },
      );
    }
    if (res.ok) return res;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not ours */
    }
    const err = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
      ?.error;
    if (err?.code && Object.hasOwn(ERROR_CATALOGUE, err.code)) {
      throw new WeftError(err.code as ErrorCode, err.message, err.details);
    }
    throw new WeftError('INTERNAL', `router answered ${res.status}: ${text.slice(0, 200)}`);
  }

  async text(path: string): Promise<string> {
    return (await this.request('GET', path)).text();
  }

  async json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }
}
