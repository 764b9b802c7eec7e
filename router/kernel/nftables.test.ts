import { describe, expect, it } from 'vitest';
import { isWeftError, WeftError } from '../../common/errors.js';
import { nftErrno, parseNftJson, replaceTableScript } from './nftables.js';

describe('nftables helpers', () => {
  it('the replace script creates, deletes and recreates the table in one file', () => {
    expect(replaceTableScript('inet', 'weft', '  chain c {}')).toBe(
      'table inet weft {}\ndelete table inet weft\ntable inet weft {\n  chain c {}\n}\n',
    );
  });

  it('refuses names and families that could smuggle commands into the script', () => {
    expect(() => replaceTableScript('inet', 'weft; flush ruleset', '')).toThrow(WeftError);
    expect(() => replaceTableScript('inet', 'a b', '')).toThrow(WeftError);
    expect(() => replaceTableScript('foo' as 'inet', 'weft', '')).toThrow(WeftError);
  });

  it('maps nft error text to errnos', () => {
    expect(nftErrno('Error: No such file or directory; did you mean table ‘weft’')).toBe('ENOENT');
    expect(nftErrno('Error: Could not process rule: File exists')).toBe('EEXIST');
    expect(nftErrno('Error: syntax error, unexpected string')).toBe('EINVAL');
  });

  it('parses nft -j output without metainfo, and rejects garbage with a typed error', () => {
    const objs = parseNftJson(
      JSON.stringify({
        nftables: [{ metainfo: { version: '1.0.6' } }, { table: { family: 'inet', name: 'weft' } }],
      }),
    );
    expect(objs).toEqual([{ table: { family: 'inet', name: 'weft' } }]);
    for (const bad of ['not json', '{}', '{"nftables": 3}']) {
      let caught: unknown;
      try {
        parseNftJson(bad);
      } catch (e) {
        caught = e;
      }
      expect(isWeftError(caught) && caught.details?.errno).toBe('EBADMSG');
    }
  });
});
