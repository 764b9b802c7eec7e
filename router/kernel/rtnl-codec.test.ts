/**
 * The rtnetlink codecs: golden bytes for requests (laid out by hand from the
 * kernel's uapi structs), decoders on hand-made kernel answers, and decoders
 * on hostile bytes (never a throw). The same codecs are exercised against the
 * real kernel by the *.kernel.test.ts files of this folder.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAttrs, encodeAttrs, str, u8, u16be, u32 } from './nlattr.js';
import { addAddressRequest, decodeAddress, deleteAddressRequest } from './rtnl-address.js';
import * as C from './rtnl-constants.js';
import { addFdbRequest, decodeFdb, deleteFdbRequest } from './rtnl-fdb.js';
import {
  createVethRequest,
  createVxlanRequest,
  decodeLink,
  getLinkRequest,
  setBridgePortRequest,
  setLinkRequest,
} from './rtnl-link.js';
import { decodeNeighbor, setNeighborRequest } from './rtnl-neighbor.js';
import { addRouteRequest, decodeRoute, deleteRouteRequest } from './rtnl-route.js';
import { decodeIfInfoMsg, encodeIfInfoMsg, encodeNdMsg, encodeRtMsg, IFINFOMSG_LEN } from './rtnl-structs.js';

const hex = (b: Buffer) => b.toString('hex');

describe('requests (golden bytes)', () => {
  it('address add: ifaddrmsg, local, address and the subnet broadcast; exclusive create', () => {
    const r = addAddressRequest(2, '10.32.0.1/12');
    expect(r.type).toBe(C.RTM_NEWADDR);
    expect(r.flags).toBe(C.NLM_F_CREATE | C.NLM_F_EXCL);
    expect(hex(r.data)).toBe(
      [
        '020c0000',
        '02000000', // family AF_INET, prefixlen 12, flags 0, scope 0, index 2
        '08000200',
        '0a200001', // IFA_LOCAL 10.32.0.1
        '08000100',
        '0a200001', // IFA_ADDRESS 10.32.0.1
        '08000400',
        '0a2fffff', // IFA_BROADCAST 10.47.255.255
      ].join(''),
    );
  });

  it('address add without prefix route and delete', () => {
    const add = addAddressRequest(3, '10.32.0.5/32', { noPrefixRoute: true });
    const attrs = decodeAttrs(add.data.subarray(8));
    expect(attrs.ok && attrs.value.u32(C.IFA_FLAGS)).toBe(C.IFA_F_NOPREFIXROUTE);
    expect(attrs.ok && attrs.value.has(C.IFA_BROADCAST)).toBe(false);
    expect(hex(deleteAddressRequest(3, '10.32.0.5/32').data)).toBe('0220000003000000' + '080002000a200005');
  });

  it('route add: default via gateway, replace flags, table in RTA_TABLE', () => {
    const r = addRouteRequest({ dst: '0.0.0.0/0', gateway: '10.32.0.254', oif: 2 }, { replace: true });
    expect(r.flags).toBe(C.NLM_F_CREATE | C.NLM_F_REPLACE);
    expect(hex(r.data)).toBe(
      [
        '02000000',
        'fe040001',
        '00000000', // AF_INET, dst_len 0 | table main, proto static, scope universe, unicast | flags
        '08000f00',
        'fe000000', // RTA_TABLE 254
        '08000400',
        '02000000', // RTA_OIF 2
        '08000500',
        '0a2000fe', // RTA_GATEWAY
      ].join(''),
    );
  });

  it('route add: multicast prefix on a device gets link scope; big table ids use compat in the header', () => {
    const r = addRouteRequest({ dst: '224.0.0.0/4', oif: 5, table: 1000 });
    expect(hex(r.data.subarray(0, 12))).toBe('02040000' + 'fc04fd01' + '00000000');
    const attrs = decodeAttrs(r.data.subarray(12));
    expect(attrs.ok && attrs.value.u32(C.RTA_TABLE)).toBe(1000);
    expect(attrs.ok && hex(attrs.value.get(C.RTA_DST)!)).toBe('e0000000');
  });

  it('route delete matches any protocol, scope and type unless pinned', () => {
    const r = deleteRouteRequest({ dst: '10.96.0.0/12' });
    expect(hex(r.data.subarray(0, 12))).toBe('020c0000' + 'fe00ff00' + '00000000');
    expect(() => deleteRouteRequest({ dst: '10.96.0.1/12' })).toThrow(/CIDR/);
  });

  it('fdb append of a flood entry on a VXLAN device', () => {
    const r = addFdbRequest(
      7,
      { link: 7, mac: '00:00:00:00:00:00', where: 'self', dst: '198.18.0.2' },
      'append',
    );
    expect(r.type).toBe(C.RTM_NEWNEIGH);
    expect(r.flags).toBe(C.NLM_F_CREATE | C.NLM_F_APPEND);
    expect(hex(r.data)).toBe(
      [
        '07000000',
        '07000000',
        '8000',
        '02',
        '00', // AF_BRIDGE, ifindex 7, NUD_PERMANENT, NTF_SELF
        '0a000200',
        '000000000000',
        '0000', // NDA_LLADDR + pad
        '08000100',
        'c6120002', // NDA_DST 198.18.0.2
      ].join(''),
    );
  });

  it('fdb master entries are static by default; delete carries the same selector', () => {
    const add = addFdbRequest(4, { link: 4, mac: '02:00:00:00:00:42', where: 'master' });
    expect(add.flags).toBe(C.NLM_F_CREATE | C.NLM_F_REPLACE);
    expect(hex(add.data.subarray(0, 12))).toBe('07000000' + '04000000' + '4000' + '04' + '00');
    const del = deleteFdbRequest(4, { link: 4, mac: '02:00:00:00:00:42', where: 'master' });
    expect(del.type).toBe(C.RTM_DELNEIGH);
    expect(del.data.subarray(12)).toEqual(add.data.subarray(12));
  });

  it('neighbour set: AF_INET ndmsg, permanent, create-or-replace', () => {
    const r = setNeighborRequest(2, { ip: '10.32.0.2', mac: '02:00:00:00:00:02' });
    expect(r.flags).toBe(C.NLM_F_CREATE | C.NLM_F_REPLACE);
    expect(hex(r.data)).toBe(
      [
        '02000000',
        '02000000',
        '8000',
        '00',
        '00',
        '08000100',
        '0a200002',
        '0a000200',
        '020000000002',
        '0000',
      ].join(''),
    );
  });

  it('veth: the peer is an ifinfomsg with its name and namespace fd inside VETH_INFO_PEER', () => {
    const r = createVethRequest(
      'vethwl1',
      { name: 'eth0', netns: { fd: 42 }, mtu: 1376, up: true },
      { mtu: 1376 },
    );
    expect(r.flags).toBe(C.NLM_F_CREATE | C.NLM_F_EXCL);
    const attrs = decodeAttrs(r.data.subarray(IFINFOMSG_LEN));
    if (!attrs.ok) throw new Error('undecodable');
    expect(attrs.value.str(C.IFLA_IFNAME)).toBe('vethwl1');
    expect(attrs.value.u32(C.IFLA_MTU)).toBe(1376);
    const info = attrs.value.nested(C.IFLA_LINKINFO)!;
    expect(info.str(C.IFLA_INFO_KIND)).toBe('veth');
    const peer = info.nested(C.IFLA_INFO_DATA)!.get(C.VETH_INFO_PEER)!;
    expect(decodeIfInfoMsg(peer)).toMatchObject({ flags: C.IFF_UP, change: C.IFF_UP });
    const peerAttrs = decodeAttrs(peer.subarray(IFINFOMSG_LEN));
    expect(peerAttrs.ok && peerAttrs.value.str(C.IFLA_IFNAME)).toBe('eth0');
    expect(peerAttrs.ok && peerAttrs.value.u32(C.IFLA_NET_NS_FD)).toBe(42);
  });

  it('vxlan: VNI, big-endian port, learning, local address, underlay device', () => {
    const r = createVxlanRequest(
      'vxlan-6784',
      { vni: 0x5eed, port: 6784, local: '198.18.0.1', learning: false },
      3,
    );
    const attrs = decodeAttrs(r.data.subarray(IFINFOMSG_LEN));
    if (!attrs.ok) throw new Error('undecodable');
    const data = attrs.value.nested(C.IFLA_LINKINFO)!.nested(C.IFLA_INFO_DATA)!;
    expect(data.u32(C.IFLA_VXLAN_ID)).toBe(0x5eed);
    expect(hex(data.get(C.IFLA_VXLAN_PORT)!)).toBe('1a80');
    expect(data.u8(C.IFLA_VXLAN_LEARNING)).toBe(0);
    expect(hex(data.get(C.IFLA_VXLAN_LOCAL)!)).toBe('c6120001');
    expect(data.u32(C.IFLA_VXLAN_LINK)).toBe(3);
  });

  it('set link: up flag only in the change mask when asked; master 0 releases', () => {
    const r = setLinkRequest(9, { masterIndex: 0 });
    expect(r.flags).toBe(0);
    expect(decodeIfInfoMsg(r.data)).toMatchObject({ index: 9, flags: 0, change: 0 });
    const down = setLinkRequest(9, { up: false });
    expect(decodeIfInfoMsg(down.data)).toMatchObject({ flags: 0, change: C.IFF_UP });
    const attrs = decodeAttrs(r.data.subarray(IFINFOMSG_LEN));
    expect(attrs.ok && attrs.value.u32(C.IFLA_MASTER)).toBe(0);
  });

  it('bridge port hairpin goes in the slave data of link info', () => {
    const r = setBridgePortRequest(9, { hairpin: true });
    const attrs = decodeAttrs(r.data.subarray(IFINFOMSG_LEN));
    const info = attrs.ok ? attrs.value.nested(C.IFLA_LINKINFO) : undefined;
    expect(info?.str(C.IFLA_INFO_SLAVE_KIND)).toBe('bridge');
    expect(info?.nested(C.IFLA_INFO_SLAVE_DATA)?.u8(C.IFLA_BRPORT_MODE)).toBe(1);
  });

  it('get link by name uses IFLA_IFNAME, by index the header', () => {
    expect(decodeIfInfoMsg(getLinkRequest(12).data)!.index).toBe(12);
    const byName = getLinkRequest('weft');
    expect(decodeAttrs(byName.data.subarray(IFINFOMSG_LEN))).toMatchObject({ ok: true });
  });
});

describe('decoders', () => {
  it('decode a VXLAN bridge port as the kernel describes it', () => {
    const payload = Buffer.concat([
      encodeIfInfoMsg({ index: 5, flags: C.IFF_UP }),
      encodeAttrs([
        { type: C.IFLA_IFNAME, value: str('vxlan-6784') },
        { type: C.IFLA_MTU, value: u32(1376) },
        { type: C.IFLA_ADDRESS, value: Buffer.from('02aabbccddee', 'hex') },
        { type: C.IFLA_MASTER, value: u32(3) },
        { type: C.IFLA_OPERSTATE, value: u8(6) },
        {
          type: C.IFLA_LINKINFO,
          value: [
            { type: C.IFLA_INFO_KIND, value: str('vxlan') },
            {
              type: C.IFLA_INFO_DATA,
              value: [
                { type: C.IFLA_VXLAN_ID, value: u32(42) },
                { type: C.IFLA_VXLAN_PORT, value: u16be(6784) },
                { type: C.IFLA_VXLAN_LEARNING, value: u8(0) },
                { type: C.IFLA_VXLAN_LOCAL, value: Buffer.from([198, 18, 0, 1]) },
              ],
            },
            { type: C.IFLA_INFO_SLAVE_KIND, value: str('bridge') },
            { type: C.IFLA_INFO_SLAVE_DATA, value: [{ type: C.IFLA_BRPORT_MODE, value: u8(1) }] },
          ],
        },
      ]),
    ]);
    expect(decodeLink(payload)).toEqual({
      index: 5,
      name: 'vxlan-6784',
      kind: 'vxlan',
      mtu: 1376,
      mac: '02:aa:bb:cc:dd:ee',
      up: true,
      operState: 'up',
      masterIndex: 3,
      vxlan: { vni: 42, port: 6784, learning: false, local: '198.18.0.1' },
      bridgePort: { hairpin: true, learning: true },
    });
  });

  it('skip other families instead of misreading them', () => {
    const v6 = Buffer.concat([Buffer.from([10, 64, 0, 0, 2, 0, 0, 0]), Buffer.alloc(20)]);
    expect(decodeAddress(v6)).toBeUndefined();
    const rt6 = Buffer.concat([
      encodeRtMsg({
        family: 10,
        dstLen: 64,
        srcLen: 0,
        tos: 0,
        table: 254,
        protocol: 2,
        scope: 0,
        type: 1,
        flags: 0,
      }),
    ]);
    expect(decodeRoute(rt6)).toBeUndefined();
    const neighV4 = encodeNdMsg({ family: C.AF_INET, ifindex: 2, state: 2, flags: 0, type: 0 });
    expect(decodeFdb(neighV4)).toBeUndefined();
  });

  it('decode a learned bridge entry (NDA_MASTER, no flag) as master/dynamic', () => {
    const payload = Buffer.concat([
      encodeNdMsg({ family: C.AF_BRIDGE, ifindex: 4, state: C.NUD_REACHABLE, flags: 0, type: 0 }),
      encodeAttrs([
        { type: C.NDA_LLADDR, value: Buffer.from('020000000001', 'hex') },
        { type: C.NDA_MASTER, value: u32(3) },
      ]),
    ]);
    expect(decodeFdb(payload)).toEqual({
      linkIndex: 4,
      mac: '02:00:00:00:00:01',
      where: 'master',
      state: 'dynamic',
      masterIndex: 3,
    });
  });

  it('decode an unresolved neighbour without a MAC', () => {
    const payload = Buffer.concat([
      encodeNdMsg({ family: C.AF_INET, ifindex: 2, state: C.NUD_INCOMPLETE, flags: 0, type: 1 }),
      encodeAttrs([{ type: C.NDA_DST, value: Buffer.from([10, 32, 0, 7]) }]),
    ]);
    expect(decodeNeighbor(payload)).toEqual({ linkIndex: 2, ip: '10.32.0.7', state: 'incomplete' });
  });

  it('never throw on arbitrary payloads', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const b = Buffer.from(bytes);
        for (const decode of [decodeLink, decodeAddress, decodeRoute, decodeFdb, decodeNeighbor]) decode(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throw on well-formed headers followed by arbitrary attributes', () => {
    const headers = [
      encodeIfInfoMsg({ index: 3 }),
      Buffer.from([2, 24, 0, 0, 3, 0, 0, 0]),
      encodeRtMsg({
        family: 2,
        dstLen: 24,
        srcLen: 0,
        tos: 0,
        table: 254,
        protocol: 4,
        scope: 0,
        type: 1,
        flags: 0,
      }),
      encodeNdMsg({ family: 7, ifindex: 3, state: 0x80, flags: 2, type: 0 }),
    ];
    const decoders = [decodeLink, decodeAddress, decodeRoute, decodeFdb];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.array(
          fc.record({ type: fc.integer({ min: 0, max: 40 }), value: fc.uint8Array({ maxLength: 24 }) }),
          {
            maxLength: 8,
          },
        ),
        (i, attrs) => {
          decoders[i]!(Buffer.concat([headers[i]!, encodeAttrs(attrs)]));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
