import { describe, expect, it } from 'vitest';
import { weftErrorOf } from '../daemon/test-support.js';
import type { AttachmentRow } from '../host/attachments.js';
import { resolvePeerNames } from './peer-names.js';
import { formatPs } from './ps-format.js';
import { formatField, reportField } from './report-field.js';

describe('weft report -f', () => {
  const report = {
    version: '0.1.0',
    router: { name: 'n1', peers: [{ nickname: 'h1' }, { nickname: 'h2' }] },
    overlay: { mtu: 1390 },
  };

  it('walks object keys and array indices; strings print bare, the rest as JSON', () => {
    expect(formatField(reportField(report, 'router.name'))).toBe('n1\n');
    expect(formatField(reportField(report, 'router.peers.1.nickname'))).toBe('h2\n');
    expect(formatField(reportField(report, 'overlay.mtu'))).toBe('1390\n');
    expect(formatField(reportField(report, 'overlay'))).toBe('{\n  "mtu": 1390\n}\n');
  });

  it('names the missing part of a path, and does not walk into prototypes', () => {
    expect(weftErrorOf(() => reportField(report, 'router.nope.x')).message).toBe(
      'report has no field "router.nope.x" (no "nope")',
    );
    expect(weftErrorOf(() => reportField(report, 'router.name.length')).code).toBe('NOT_FOUND');
    expect(weftErrorOf(() => reportField(report, 'constructor')).code).toBe('NOT_FOUND');
  });
});

describe('weft ps', () => {
  const id64 = 'b07c0f15a8a0'.padEnd(64, '1');
  const rows: AttachmentRow[] = [
    {
      id: 'weft:expose',
      kind: 'expose',
      device: 'weft',
      mac: '4a:1f:08:00:00:01',
      addresses: ['10.32.0.1/12'],
      state: 'attached',
    },
    {
      id: `attach:${id64}`,
      kind: 'attach',
      container: id64,
      ifname: 'ethwe',
      device: 'wfa000000000001',
      mac: '6a:8b:33:00:00:02',
      addresses: ['10.32.0.2/12', '10.44.0.9/16'],
      state: 'attached',
    },
    {
      id: 'cni:weft:abc:eth0',
      kind: 'cni',
      container: 'abc',
      ifname: 'eth0',
      network: 'weft',
      device: null,
      mac: null,
      addresses: ['10.32.0.3/12'],
      state: 'no-device',
    },
    { id: '-', kind: 'unknown', device: 'wfc00000000000f', mac: null, addresses: [], state: 'no-address' },
  ];

  it('prints name, MAC and addresses in columns (Docker ids shortened), and says what is wrong with a row', () => {
    expect(formatPs(rows)).toBe(
      [
        'weft:expose     4a:1f:08:00:00:01 10.32.0.1/12',
        'b07c0f15a8a0    6a:8b:33:00:00:02 10.32.0.2/12 10.44.0.9/16',
        'abc:eth0        -                 10.32.0.3/12              no device on the bridge (container gone without detach/DEL?)',
        'wfc00000000000f -                 -                         on the bridge without an address from this router',
        '',
      ].join('\n'),
    );
    expect(formatPs([])).toBe('');
  });
});

describe('weft rmpeer names', () => {
  const router = {
    peers: [
      { name: '02:00:00:00:00:01', nickname: 'h1' },
      { name: '02:00:00:00:00:02', nickname: 'h2' },
      { name: '02:00:00:00:00:03', nickname: 'twin' },
      { name: '02:00:00:00:00:04', nickname: 'twin' },
    ],
  } as Parameters<typeof resolvePeerNames>[1];

  it('takes names as they are (any case, even unknown ones) and resolves nicknames', () => {
    expect(resolvePeerNames(['02:00:00:00:00:0A', 'h2', 'h2'], router)).toEqual([
      '02:00:00:00:00:0a',
      '02:00:00:00:00:02',
    ]);
  });

  it('refuses an unknown or ambiguous nickname, saying what to give instead', () => {
    expect(weftErrorOf(() => resolvePeerNames(['gone'], router)).message).toMatch(
      /^no peer with nickname "gone" is known here: give its name/,
    );
    expect(weftErrorOf(() => resolvePeerNames(['twin'], router)).message).toMatch(/ambiguous/);
  });
});
