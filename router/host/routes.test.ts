/**
 * The host routes through the real API app (app.inject): bodies and queries
 * reach the expose control as they should, schemas refuse what is malformed,
 * and errors leave as the shared error body.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import { buildApi } from '../api/app.js';
import type { MeshControl } from '../api/mesh-control.js';
import type { AttachmentRow } from './attachments.js';
import type { ExposeState } from './expose-service.js';
import { type ExposeControl, hostApiExtension } from './routes.js';

const mesh = {
  report: () => {
    throw new Error('not used');
  },
  connect: () => undefined,
  forget: () => undefined,
  directTargets: () => [],
} as unknown as MeshControl;

class FakeExpose implements ExposeControl {
  calls: unknown[] = [];
  fail: Error | undefined;
  state_: ExposeState = { addresses: [], masqueraded: [] };
  async state() {
    if (this.fail) throw this.fail;
    return this.state_;
  }
  async expose(req: { cidrs: readonly string[]; masquerade: boolean }) {
    this.calls.push(['expose', req]);
    if (this.fail) throw this.fail;
    return { addresses: ['10.32.0.1/12'], masqueraded: req.masquerade ? ['10.32.0.0/12'] : [] };
  }
  async hide(req: { cidrs: readonly string[] }) {
    this.calls.push(['hide', req]);
    return this.state_;
  }
}

const row: AttachmentRow = {
  id: 'cni:weft:c1:eth0',
  kind: 'cni',
  container: 'c1',
  ifname: 'eth0',
  network: 'weft',
  device: 'wfc000000000001',
  mac: null,
  addresses: ['10.32.0.2/12'],
  state: 'attached',
};

let app: FastifyInstance;
let expose: FakeExpose;

beforeEach(async () => {
  expose = new FakeExpose();
  app = await buildApi({
    mesh,
    version: '0.1.0',
    extensions: [hostApiExtension({ expose, attachments: async () => [row] })],
  });
});
afterEach(() => app.close());

describe('/expose and /attachments', () => {
  it('POST /expose passes cidrs and masquerade (default true), also with no body', async () => {
    const r1 = await app.inject({
      method: 'POST',
      url: '/expose',
      payload: { cidrs: ['10.40.0.0/16'], masquerade: false },
    });
    expect(r1.statusCode).toBe(200);
    expect(r1.json()).toEqual({ addresses: ['10.32.0.1/12'], masqueraded: [] });
    const r2 = await app.inject({ method: 'POST', url: '/expose' });
    expect(r2.statusCode).toBe(200);
    expect(expose.calls).toEqual([
      ['expose', { cidrs: ['10.40.0.0/16'], masquerade: false }],
      ['expose', { cidrs: [], masquerade: true }],
    ]);
  });

  it('DELETE /expose takes cidr= once or repeated; GET /expose is the state', async () => {
    await app.inject({ method: 'DELETE', url: '/expose?cidr=10.40.0.0%2F16' });
    await app.inject({ method: 'DELETE', url: '/expose?cidr=10.40.0.0%2F16&cidr=10.32.0.1%2F12' });
    await app.inject({ method: 'DELETE', url: '/expose' });
    expect(expose.calls).toEqual([
      ['hide', { cidrs: ['10.40.0.0/16'] }],
      ['hide', { cidrs: ['10.40.0.0/16', '10.32.0.1/12'] }],
      ['hide', { cidrs: [] }],
    ]);
    expect((await app.inject({ method: 'GET', url: '/expose' })).json()).toEqual({
      addresses: [],
      masqueraded: [],
    });
  });

  it('refuses unknown fields, wrong types and oversized lists with BAD_REQUEST', async () => {
    for (const payload of [
      { cidrs: ['10.40.0.0/16'], bogus: 1 },
      { cidrs: [{}] },
      { masquerade: 'yes' },
      { cidrs: Array.from({ length: 65 }, () => '10.40.0.0/16') },
    ]) {
      const r = await app.inject({ method: 'POST', url: '/expose', payload });
      expect(r.statusCode, JSON.stringify(payload)).toBe(400);
      expect(r.json().error.code).toBe('BAD_REQUEST');
    }
    expect(expose.calls).toEqual([]);
    // As everywhere in the API (ajv coercion, as for query parameters): one string is a list of one.
    await app.inject({ method: 'POST', url: '/expose', payload: { cidrs: '10.40.0.0/16' } });
    expect(expose.calls).toEqual([['expose', { cidrs: ['10.40.0.0/16'], masquerade: true }]]);
  });

  it('errors of the expose service leave with their code and status', async () => {
    expose.fail = new WeftError(
      'OUT_OF_RANGE',
      '192.168.0.1/24 is outside the allocation range 10.32.0.0/12',
    );
    const r = await app.inject({ method: 'POST', url: '/expose', payload: { cidrs: ['192.168.0.1/24'] } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({
      error: { code: 'OUT_OF_RANGE', message: '192.168.0.1/24 is outside the allocation range 10.32.0.0/12' },
    });
    expose.fail = new WeftError('NOT_FOUND', 'there is no weft bridge');
    expect((await app.inject({ method: 'GET', url: '/expose' })).statusCode).toBe(404);
  });

  it('GET /attachments lists the rows', async () => {
    const r = await app.inject({ method: 'GET', url: '/attachments' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ attachments: [row] });
  });
});
