import { describe, expect, it } from 'vitest';
import { weftErrorOf } from '../daemon/test-support.js';
import { parseRouterConfig, type RouterFlags } from './router-config.js';

const machine = { hostname: 'host1', cwd: '/srv' };

function parse(flags: RouterFlags, peers: string[] = [], env: { WEFT_PASSWORD?: string } = {}) {
  return parseRouterConfig(flags, peers, env, machine);
}

const failure = weftErrorOf;

describe('parseRouterConfig', () => {
  it('fills in Weave-like defaults', () => {
    expect(parse({})).toEqual({
      name: undefined,
      nickname: 'host1',
      port: 6783,
      host: '',
      http: { host: '127.0.0.1', port: 6784 },
      metrics: { host: '127.0.0.1', port: 6782 },
      dataDir: '/var/lib/weft',
      password: undefined,
      connLimit: 200,
      discovery: true,
      logLevel: 'info',
      peers: [],
    });
  });

  it('takes every flag and normalises peers', () => {
    const c = parse(
      {
        name: 'AA:BB:CC:DD:EE:0F',
        nickname: 'h-1',
        port: '7000',
        host: '198.18.0.1',
        httpAddr: '198.18.0.1:0',
        metricsAddr: 'off',
        dataDir: 'state',
        password: 's3cret',
        connLimit: '5',
        discovery: false,
        logLevel: 'debug',
      },
      ['198.18.0.2', '198.18.0.3:7000', '198.18.0.2:6783'],
    );
    expect(c).toEqual({
      name: 'aa:bb:cc:dd:ee:0f',
      nickname: 'h-1',
      port: 7000,
      host: '198.18.0.1',
      http: { host: '198.18.0.1', port: 0 },
      metrics: null,
      dataDir: '/srv/state',
      password: 's3cret',
      connLimit: 5,
      discovery: false,
      logLevel: 'debug',
      peers: ['198.18.0.2:6783', '198.18.0.3:7000'],
    });
  });

  it('reads the password from WEFT_PASSWORD; the flag wins; empty means none', () => {
    expect(parse({}, [], { WEFT_PASSWORD: 'env' }).password).toBe('env');
    expect(parse({ password: 'flag' }, [], { WEFT_PASSWORD: 'env' }).password).toBe('flag');
    expect(parse({ password: '' }).password).toBeUndefined();
  });

  it('a malformed peer address is INVALID_PEER_ADDRESS naming it', () => {
    const e = failure(() => parse({}, ['198.18.0.2', '198.18.0.300']));
    expect(e.code).toBe('INVALID_PEER_ADDRESS');
    expect(e.message).toContain('"198.18.0.300"');
  });

  it('a malformed name is INVALID_PEER_NAME', () => {
    expect(failure(() => parse({ name: 'host1' })).code).toBe('INVALID_PEER_NAME');
  });

  it.each([
    [{ port: '0' }, '--port'],
    [{ port: '65536' }, '--port'],
    [{ port: 'http' }, '--port'],
    [{ host: 'localhost' }, '--host'],
    [{ httpAddr: '127.0.0.1' }, '--http-addr'],
    [{ httpAddr: 'x:80' }, '--http-addr'],
    [{ metricsAddr: '6782' }, '--metrics-addr'],
    [{ connLimit: '-1' }, '--conn-limit'],
    [{ logLevel: 'loud' }, '--log-level'],
    [{ nickname: 'has space' }, '--nickname'],
    [{ nickname: '' }, '--nickname'],
    [{ dataDir: '' }, '--data-dir'],
  ] as [RouterFlags, string][])('refuses %j with a message naming %s', (flags, flag) => {
    const e = failure(() => parse(flags));
    expect(e.code).toBe('BAD_REQUEST');
    expect(e.message.startsWith(flag)).toBe(true);
    expect(e.message).not.toContain('\n');
  });
});
