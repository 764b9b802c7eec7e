/**
 * Hostile requests to the router's API (app.inject, the real routes over a
 * real mesh core and IPAM service, see targets/http-api.fuzz.ts): random
 * methods, paths, query strings, media types and bodies — JSON of every
 * shape, right keys with wrong types, junk. The answer is never a 500, every
 * error is the catalogue's JSON body, and nothing invalid reaches a subsystem.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { target } from './targets/http-api.fuzz.js';

afterAll(() => target.dispose?.());

const enc = (method: number, url: string, type: string, body: string) =>
  new Uint8Array(Buffer.from([String.fromCharCode(method), url, type, body].join('\0'), 'latin1'));

const ROUTES = [
  '/status',
  '/status/peers',
  '/status/ipam',
  '/report',
  '/connect',
  '/forget',
  '/ip',
  '/ip/c1',
  '/ip/c1/10.32.0.0/16',
  '/ip/c1/10.32.0.5/12',
  '/ring',
  '/peer',
  '/peer/02:00:00:00:00:09',
  '/expose',
  '/attachments',
];
const segment = fc.oneof(
  fc.constantFrom('c1', '10.32.0.1', '99', '-1', '%00', '%E0%A4%A', '..', '0.0.0.0', 'x'.repeat(300)),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const path = fc.oneof(
  fc.constantFrom(...ROUTES),
  fc
    .tuple(fc.constantFrom(...ROUTES), fc.array(segment, { maxLength: 3 }))
    .map(([r, s]) => [r, ...s].join('/')),
);
const query = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.constantFrom('peer', 'replace', 'subnet', 'force', 'wait', 'timeout', 'cidr', 'bogus'),
        fc.oneof(segment, fc.constantFrom('true', 'false', '1', '1e99', '10.32.0.0/24', '')),
      ),
      { maxLength: 4 },
    )
    .map((kv) => `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}`),
);
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      peers: fc.oneof(
        fc.array(fc.oneof(fc.string(), fc.constantFrom('198.18.0.2', '198.18.0.2:99999', '[::1]:1', ' '))),
        fc.string(),
      ),
      replace: fc.oneof(fc.boolean(), fc.string(), fc.integer()),
      cidrs: fc.oneof(
        fc.array(fc.oneof(fc.string(), fc.constantFrom('10.40.0.0/16', '10.40.0.1/33', '0.0.0.0/0'))),
        fc.integer(),
      ),
      masquerade: fc.oneof(fc.boolean(), fc.string()),
      __proto__: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  ),
);
const body = fc.oneof(
  fc.constant(''),
  jsonValue.map((v) => JSON.stringify(v) ?? ''),
  fc.string({ maxLength: 64 }),
  fc.constantFrom(
    '{"peers": [',
    '{"peers":["a"]}}',
    '\u0000',
    '[]',
    'null',
    '"x"',
    '{"constructor":{"prototype":{}}}',
  ),
);
const type = fc.constantFrom(
  '',
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'x/y',
);

describe('router API under hostile requests', () => {
  it('answers every request with a 2xx/4xx or a catalogued 5xx, in the error body shape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 6 }), path, query, type, body, async (m, p, q, t, b) => {
        await target.run(enc(m, `${p}${q}`, t, b));
      }),
      { numRuns: 400 },
    );
  });

  // Found by `npm run fuzz` (test/fuzz/crashes/http-api-*.hex): fastify's router refused these
  // before any hook ran and answered in its own body shape, not the catalogue's.
  it('a path parameter longer than fastify allows is BAD_REQUEST in the error body shape', async () => {
    const { buildApi } = await import('../../router/api/app.js');
    const app = await buildApi({
      mesh: { report: () => ({}) as never, connect: () => {}, forget: () => {}, directTargets: () => [] },
      version: 'x',
    });
    const long = await app.inject({ method: 'GET', url: `/status/${'v'.repeat(200)}` });
    expect(long.statusCode).toBe(414); // fastify's precise status, kept (URI Too Long)
    expect(long.json()).toMatchObject({
      error: { code: 'BAD_REQUEST', details: { fastifyCode: 'FST_ERR_MAX_PARAM_LENGTH' } },
    });
    const badUrl = await app.inject({ method: 'GET', url: '/status/%E0%A4%A' });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json()).toMatchObject({
      error: { code: 'BAD_REQUEST', details: { fastifyCode: 'FST_ERR_BAD_URL' } },
    });
    await app.close();
  });

  it('bounds how long a client may take to send its request (slowloris on the API)', async () => {
    const { buildApi, API_REQUEST_TIMEOUT_MS } = await import('../../router/api/app.js');
    const app = await buildApi({
      mesh: { report: () => ({}) as never, connect: () => {}, forget: () => {}, directTargets: () => [] },
      version: 'x',
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    expect(API_REQUEST_TIMEOUT_MS).toBeGreaterThan(0);
    expect(app.server.requestTimeout).toBe(API_REQUEST_TIMEOUT_MS);
    expect(app.server.headersTimeout).toBeLessThanOrEqual(API_REQUEST_TIMEOUT_MS);
    await app.close();
  });
});
