import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../common/random.js';
import { choosePeerName, derivePeerName, newPeerUid, parsePeerName, peerNameFromSeed } from './identity.js';
import { weftErrorOf } from './test-support.js';

const firstOctet = (name: string) => Number.parseInt(name.slice(0, 2), 16);

describe('peer names', () => {
  it('derived names are MAC-shaped, unicast and locally administered for any seed', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (machineId, dataDir) => {
        const n = derivePeerName(machineId, dataDir);
        expect(parsePeerName(n)).toBe(n);
        expect(firstOctet(n) & 0x01).toBe(0);
        expect(firstOctet(n) & 0x02).toBe(2);
      }),
    );
  });

  it('derivation is stable and separates data dirs and machines', () => {
    const a = derivePeerName('3d1219c7c4c5404aaa1f6d2a48adfda4', '/var/lib/weft');
    expect(derivePeerName('3d1219c7c4c5404aaa1f6d2a48adfda4\n', '/var/lib/weft')).toBe(a);
    expect(derivePeerName('3d1219c7c4c5404aaa1f6d2a48adfda4', '/tmp/h2/weft')).not.toBe(a);
    expect(derivePeerName('0d1219c7c4c5404aaa1f6d2a48adfda4', '/var/lib/weft')).not.toBe(a);
  });

  it('parsePeerName normalises case and refuses everything that is not six hex octets', () => {
    expect(parsePeerName('AA:bb:0C:dd:ee:FF')).toBe('aa:bb:0c:dd:ee:ff');
    for (const bad of [
      '',
      'aa:bb:cc:dd:ee',
      'aa:bb:cc:dd:ee:ff:00',
      'aa-bb-cc-dd-ee-ff',
      'gg:bb:cc:dd:ee:ff',
      'a:bb:cc:dd:ee:ff',
    ]) {
      expect(parsePeerName(bad), bad).toBeUndefined();
    }
  });

  it('peerNameFromSeed differs for different seeds', () => {
    expect(peerNameFromSeed('a')).not.toBe(peerNameFromSeed('b'));
  });
});

describe('choosePeerName', () => {
  const random = new SeededRandom(1);
  const dataDir = '/var/lib/weft';

  it('an explicit name wins over the stored one and is persisted', () => {
    const c = choosePeerName({
      flag: '02:00:00:00:00:01',
      stored: '02:00:00:00:00:02',
      machineId: 'm',
      dataDir,
      random,
    });
    expect(c).toEqual({ name: '02:00:00:00:00:01', source: 'flag', persist: true });
    expect(
      choosePeerName({ flag: '02:00:00:00:00:02', stored: '02:00:00:00:00:02', dataDir, random }).persist,
    ).toBe(false);
  });

  it('a malformed explicit name is an INVALID_PEER_NAME error', () => {
    expect(weftErrorOf(() => choosePeerName({ flag: 'not-a-mac', dataDir, random })).code).toBe(
      'INVALID_PEER_NAME',
    );
  });

  it('the stored name is kept even if the machine id changed', () => {
    expect(choosePeerName({ stored: '02:00:00:00:00:02', machineId: 'other', dataDir, random })).toEqual({
      name: '02:00:00:00:00:02',
      source: 'stored',
      persist: false,
    });
  });

  it('with nothing stored the name is derived from the machine id and must be persisted', () => {
    expect(choosePeerName({ machineId: 'm', dataDir, random })).toEqual({
      name: derivePeerName('m', dataDir),
      source: 'derived',
      persist: true,
    });
  });

  it('without a machine id the name is random but persisted', () => {
    const c = choosePeerName({ machineId: '  ', dataDir, random });
    expect(c.source).toBe('random');
    expect(c.persist).toBe(true);
    expect(parsePeerName(c.name)).toBe(c.name);
  });
});

describe('newPeerUid', () => {
  it('is a non-zero 64-bit value, different per call', () => {
    const r = new SeededRandom(7);
    const a = newPeerUid(r);
    const b = newPeerUid(r);
    expect(a).not.toBe(b);
    expect(a > 0n && a < 1n << 64n).toBe(true);
  });
});
