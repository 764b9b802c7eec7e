import { describe, expect, it } from 'vitest';
import { weftErrorOf } from '../daemon/test-support.js';
import { mustParsePeerAddresses, parsePeerAddress } from './peer-address.js';

describe('parsePeerAddress', () => {
  it('fills in the mesh port and keeps an explicit one', () => {
    expect(parsePeerAddress('198.18.0.2')).toBe('198.18.0.2:6783');
    expect(parsePeerAddress(' 198.18.0.2:7000 ')).toBe('198.18.0.2:7000');
    expect(parsePeerAddress('Host-1.Example')).toBe('host-1.example:6783');
    expect(parsePeerAddress('h2', 1234)).toBe('h2:1234');
  });

  it('refuses malformed hosts and ports', () => {
    for (const bad of [
      '',
      ':6783',
      '198.18.0.2:',
      '198.18.0.2:0',
      '198.18.0.2:65536',
      '198.18.0.256',
      '198.18.0',
      '01.2.3.4',
      'a b',
      'host:port',
      '-host',
      'a..b',
      '1.2.3.4:80:80',
      'http://1.2.3.4',
    ]) {
      expect(parsePeerAddress(bad), bad).toBeUndefined();
    }
  });

  it('mustParsePeerAddresses names every bad address in one INVALID_PEER_ADDRESS error', () => {
    const e = weftErrorOf(() => mustParsePeerAddresses(['198.18.0.1', 'x:y', '999.1.1.1']));
    expect(e.code).toBe('INVALID_PEER_ADDRESS');
    expect(e.details).toEqual({ addresses: ['x:y', '999.1.1.1'] });
    expect(mustParsePeerAddresses(['198.18.0.1', 'h:1'])).toEqual(['198.18.0.1:6783', 'h:1']);
  });
});
