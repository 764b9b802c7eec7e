import { describe, expect, it } from 'vitest';
import { allocationId, hostVethName } from '../../cni-plugin/naming.js';
import type { FdbInfo, Link } from '../kernel/kernel-net.js';
import { attachHostVeth } from './attachment-ids.js';
import { joinAttachments } from './attachments.js';

const link = (index: number, name: string, extra: Partial<Link> = {}): Link => ({
  index,
  name,
  mtu: 1376,
  mac: `02:00:00:00:00:${index.toString(16).padStart(2, '0')}`,
  up: true,
  operState: 'up',
  ...extra,
});
const learned = (linkIndex: number, mac: string, state: FdbInfo['state'] = 'dynamic'): FdbInfo => ({
  linkIndex,
  mac,
  where: 'master',
  state,
  masterIndex: 5,
});

const bridge = link(5, 'weft', { kind: 'bridge' });
const cniId = allocationId('weft', 'ctr1', 'eth0');
const cniVeth = hostVethName('ctr1', 'eth0');
const docker = 'f'.repeat(64);
const attachVeth = attachHostVeth(docker);

describe('weft ps: allocations joined with the bridge ports', () => {
  it('names each attachment, finds its device and the MAC the bridge learned on that port', () => {
    const rows = joinAttachments({
      allocations: [
        { containerId: `attach:${docker}`, address: '10.32.0.2/12' },
        { containerId: cniId, address: '10.32.0.3/12' },
        { containerId: 'weft:expose', address: '10.32.0.1/12' },
        { containerId: `attach:${docker}`, address: '10.44.0.9/16' },
      ],
      bridge,
      links: [
        bridge,
        link(7, cniVeth, { kind: 'veth', masterIndex: 5 }),
        link(8, attachVeth, { kind: 'veth', masterIndex: 5 }),
        link(9, 'eth0'),
      ],
      fdb: [
        learned(7, '02:00:00:00:00:07', 'permanent'), // the port's own address
        learned(7, 'aa:aa:aa:aa:aa:07'),
        learned(8, 'aa:aa:aa:aa:aa:08'),
      ],
    });
    expect(rows).toEqual([
      {
        id: `attach:${docker}`,
        kind: 'attach',
        container: docker,
        ifname: 'ethwe',
        device: attachVeth,
        mac: 'aa:aa:aa:aa:aa:08',
        addresses: ['10.32.0.2/12', '10.44.0.9/16'],
        state: 'attached',
      },
      {
        id: cniId,
        kind: 'cni',
        container: 'ctr1',
        ifname: 'eth0',
        network: 'weft',
        device: cniVeth,
        mac: 'aa:aa:aa:aa:aa:07',
        addresses: ['10.32.0.3/12'],
        state: 'attached',
      },
      {
        id: 'weft:expose',
        kind: 'expose',
        device: 'weft',
        mac: bridge.mac,
        addresses: ['10.32.0.1/12'],
        state: 'attached',
      },
    ]);
  });

  it('shows leaks both ways: an allocation without device, a device without allocation; a silent container has no MAC', () => {
    const rows = joinAttachments({
      allocations: [{ containerId: cniId, address: '10.32.0.3/12' }],
      bridge,
      links: [
        bridge,
        link(8, attachVeth, { masterIndex: 5 }),
        link(11, 'wfc0123456789ab', { masterIndex: 99 }),
      ],
      fdb: [],
    });
    expect(rows.map((r) => [r.kind, r.device, r.mac, r.state])).toEqual([
      ['cni', null, null, 'no-device'],
      ['unknown', attachVeth, null, 'no-address'],
    ]);
  });

  it('lists allocations of other clients as they are, and works without a bridge', () => {
    const rows = joinAttachments({
      allocations: [
        { containerId: 'some-client-id', address: '10.32.0.9/12' },
        { containerId: 'weft:expose', address: '10.32.0.1/12' },
      ],
      bridge: undefined,
      links: [],
      fdb: [],
    });
    expect(rows.map((r) => [r.id, r.kind, r.device, r.state])).toEqual([
      ['some-client-id', 'other', null, 'attached'],
      ['weft:expose', 'expose', null, 'no-device'],
    ]);
  });
});
