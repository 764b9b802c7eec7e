/**
 * The CLI's client for the local router's HTTP API. Every failure becomes a
 * WeftError with one clear line: ROUTER_UNAVAILABLE when nothing answers
 * ("router not running at …"), otherwise the code and message the router sent.
 */
import { ERROR_CATALOGUE, type ErrorCode, WeftError } from '../../common/errors.js';

export const DEFAULT_HTTP_ADDR = '127.0.0.1:6784';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The one line printed when nothing answers at the API address. */
export function notRunningMessage(httpAddr: string): string {
  return `router not running at ${httpAddr} (start it with weft launch)`;
}

export class ApiClient {
  constructor(
    readonly httpAddr: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private url(path: string): string {
    return `http://${this.httpAddr}${path}`;
  }

  async request(method: HttpMethod, path: string, body?: unknown, timeoutMs?: number): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        signal: AbortSignal.timeout(timeoutMs ?? this.timeoutMs),
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    } catch (e) {
      const cause = (e as Error).cause ? String((e as Error).cause) : String(e);
      if ((e as Error).name === 'TimeoutError') {
        throw new WeftError(
          'ROUTER_UNAVAILABLE',
          `router at ${this.httpAddr} did not answer ${method} ${path}`,
          {
            cause,
          },
        );
      }
      throw new WeftError('ROUTER_UNAVAILABLE', notRunningMessage(this.httpAddr), { cause });
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

  async json<T>(method: HttpMethod, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    return (await (await this.request(method, path, body, timeoutMs)).json()) as T;
  }

  /** True when a router answers GET /report (within `timeoutMs`). */
  async answers(timeoutMs = 2_000): Promise<boolean> {
    try {
      await this.request('GET', '/report', undefined, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }
}
