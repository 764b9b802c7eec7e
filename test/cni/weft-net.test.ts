/**
 * weft-net's verbs over the in-memory kernel and IPAM fakes: what ADD
 * creates, what every failure undoes and in which order, DEL idempotency
 * (twice, without netns, after the namespace vanished, router down then up),
 * CHECK against prevResult, GC against valid attachments, STATUS.
 * The same behaviours run against the real kernel in test/netns/cni-*.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { hostVethName } from '../../cni-plugin/naming.js';
import { CniCode } from '../../cni-plugin/spec/errors.js';
import { type CniCall, callWeftNet, FakeHost, FakeIpam } from './fakes.js';

const NS = '/var/run/netns/ctr1';
const env = (over: Record<string, string | undefined> = {}) => ({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'ctr1',
  CNI_NETNS: NS,
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  ...over,
});
const CONF = { cniVersion: '1.0.0', name: 'weft', type: 'weft-net' };

let fake: FakeHost;
let ipam: FakeIpam;
const call = (
  e: Record<string, string | undefined>,
  conf: Record<string, unknown> = CONF,
): Promise<CniCall> => callWeftNet(fake, ipam, e, conf);
const errCode = (c: CniCall) => (c.out as { code: number }).code;

beforeEach(async () => {
  fake = new FakeHost();
  ipam = new FakeIpam(fake);
  // The router's bridge, with the overlay MTU.
  await fake.host.kernel.createBridge('weft', { mtu: 1376, up: true });
  fake.container(NS);
});

async function hostLinks(): Promise<string[]> {
  return (await fake.host.kernel.listLinks()).map((l) => l.name).sort();
}

describe('ADD', () => {
  it('creates the veth pair on the bridge, configures the container end and returns a chainable result', async () => {
    const r = await call(env());
    expect(r.code).toBe(0);
    const hv = hostVethName('ctr1', 'eth0');
    const host = await fake.host.kernel.getLink(hv);
    const bridge = await fake.host.kernel.getLink('weft');
    expect(host).toMatchObject({ kind: 'veth', masterIndex: bridge!.index, up: true, mtu: 1376 });
    expect(host?.bridgePort?.hairpin).toBe(true);
    const ctr = fake.container(NS).kernel;
    const eth0 = await ctr.getLink('eth0');
    expect(eth0).toMatchObject({ kind: 'veth', up: true, mtu: 1376 });
    expect((await ctr.listAddresses(eth0!.index)).map((a) => a.cidr)).toStrictEqual(['10.32.0.5/12']);
    expect(r.out).toStrictEqual({
      cniVersion: '1.0.0',
      interfaces: [
        { name: 'weft', mac: bridge!.mac },
        { name: hv, mac: host!.mac },
        { name: 'eth0', mac: eth0!.mac, sandbox: NS },
      ],
      ips: [{ interface: 2, address: '10.32.0.5/12' }],
      routes: [{ dst: '10.32.0.0/12' }],
      dns: {},
    });
  });

  it('a configured MTU, MAC and multicast route are applied', async () => {
    const r = await call(env({ CNI_ARGS: 'IgnoreUnknown=1;MAC=02:00:00:ab:cd:ef;K8S_POD_NAME=x' }), {
      ...CONF,
      mtu: 1300,
      multicast: true,
      hairpinMode: false,
    });
    expect(r.code).toBe(0);
    const ctr = fake.container(NS).kernel;
    const eth0 = await ctr.getLink('eth0');
    expect(eth0).toMatchObject({ mac: '02:00:00:ab:cd:ef', mtu: 1300 });
    expect((await ctr.listRoutes()).map((x) => x.dst)).toContain('224.0.0.0/4');
    expect((await fake.host.kernel.getLink(hostVethName('ctr1', 'eth0')))?.bridgePort?.hairpin).toBe(false);
  });

  it('bridge missing with weft IPAM (router not running) → 11, nothing created, no address kept', async () => {
    await fake.host.kernel.deleteLink('weft');
    const r = await call(env());
    expect(errCode(r)).toBe(CniCode.TRY_AGAIN_LATER);
    expect(await hostLinks()).toStrictEqual(['lo']);
    expect(ipam.held.size).toBe(0);
  });

  it('router down → 11 and the veth it had created is gone again (plugins#29)', async () => {
    ipam.down = true;
    const r = await call(env());
    expect(errCode(r)).toBe(CniCode.TRY_AGAIN_LATER);
    expect(await hostLinks()).toStrictEqual(['lo', 'weft']);
    expect((await fake.container(NS).kernel.listLinks()).map((l) => l.name)).toStrictEqual(['lo']);
  });

  it('a failure after IPAM deletes the device first, then releases the address', async () => {
    fake.world.failNext('addRoute', 'ENETUNREACH');
    const r = await call(env(), { ...CONF, multicast: true });
    expect(r.code).not.toBe(0);
    expect(ipam.held.size).toBe(0);
    expect(await hostLinks()).toStrictEqual(['lo', 'weft']);
    const ops = fake.ops();
    const del = ops.lastIndexOf('host:deleteLink');
    const release = ops.lastIndexOf('ipam:del');
    expect(del).toBeGreaterThan(-1);
    expect(release).toBeGreaterThan(del);
  });

  it('CNI_IFNAME already present in the container → error, the existing interface untouched, no address kept', async () => {
    const ctr = fake.container(NS).kernel;
    await ctr.createBridge('eth0');
    const r = await call(env());
    expect(r.code).not.toBe(0);
    expect((r.out as { msg: string }).msg).toContain('EEXIST');
    expect((await ctr.getLink('eth0'))?.kind).toBe('bridge');
    expect(ipam.held.size).toBe(0);
    expect(await hostLinks()).toStrictEqual(['lo', 'weft']);
  });

  it('ADD twice for the same attachment fails the second time and leaves the first working', async () => {
    expect((await call(env())).code).toBe(0);
    const second = await call(env());
    expect(second.code).not.toBe(0);
    expect(ipam.held.get('weft/ctr1/eth0')).toBe('10.32.0.5/12');
    expect(await fake.host.kernel.getLink(hostVethName('ctr1', 'eth0'))).toBeDefined();
  });

  it('a netns that cannot be opened → 8 before anything is created', async () => {
    const r = await call(env({ CNI_NETNS: '/var/run/netns/nope' }));
    expect(errCode(r)).toBe(CniCode.INVALID_NETNS);
    expect(ipam.held.size).toBe(0);
  });

  it('delegated IPAM (ipam.type other than weft-ipam) may create the bridge itself', async () => {
    await fake.host.kernel.deleteLink('weft');
    const r = await call(env(), { ...CONF, bridge: 'cni9', mtu: 1450, ipam: { type: 'host-local' } });
    expect(r.code).toBe(0);
    expect(await fake.host.kernel.getLink('cni9')).toMatchObject({ kind: 'bridge', up: true });
  });

  it.each(['0.1.0', '0.2.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])(
    'answers in the config version %s',
    async (v) => {
      const r = await call(env(), { ...CONF, cniVersion: v });
      expect(r.code).toBe(0);
      expect((r.out as { cniVersion: string }).cniVersion).toBe(v);
    },
  );
});

describe('DEL is idempotent and complete', () => {
  const del = (over: Record<string, string | undefined> = {}) => call(env({ CNI_COMMAND: 'DEL', ...over }));

  it('removes the veth, then releases the address', async () => {
    await call(env());
    const before = fake.world.calls.length;
    expect((await del()).code).toBe(0);
    expect(await hostLinks()).toStrictEqual(['lo', 'weft']);
    expect(ipam.held.size).toBe(0);
    const ops = fake.ops().slice(before);
    expect(ops.indexOf('host:deleteLink')).toBeLessThan(ops.indexOf('ipam:del'));
  });

  it('a device that cannot be removed keeps its address: DEL fails and nothing is released', async () => {
    await call(env());
    fake.world.failNext('deleteLink', 'EBUSY');
    const r = await del();
    expect(r.code).not.toBe(0);
    expect(ipam.held.get('weft/ctr1/eth0')).toBe('10.32.0.5/12');
    expect(fake.ops()).not.toContain('ipam:del');
    expect((await del()).code).toBe(0);
    expect(ipam.held.size).toBe(0);
  });

  it('twice', async () => {
    await call(env());
    expect((await del()).code).toBe(0);
    expect((await del()).code).toBe(0);
  });

  it('without CNI_NETNS (the runtime lost it): host veth found by name, address released', async () => {
    await call(env());
    expect((await del({ CNI_NETNS: undefined })).code).toBe(0);
    expect(await hostLinks()).toStrictEqual(['lo', 'weft']);
    expect(ipam.held.size).toBe(0);
  });

  it('after the container namespace vanished', async () => {
    await call(env());
    await fake.vanish(NS);
    expect((await del()).code).toBe(0);
    expect(ipam.held.size).toBe(0);
  });

  it('when nothing was ever added', async () => {
    expect((await del()).code).toBe(0);
  });

  it('router down: the device goes, the call fails with 11; router up: DEL again releases', async () => {
    await call(env());
    ipam.down = true;
    const first = await del();
    expect(errCode(first)).toBe(CniCode.TRY_AGAIN_LATER);
    expect(await hostLinks()).toStrictEqual(['lo', 'weft']);
    expect(ipam.held.size).toBe(1);
    ipam.down = false;
    expect((await del()).code).toBe(0);
    expect(ipam.held.size).toBe(0);
  });

  it('with a config that has no prevResult, or a DEL-only invalid CNI_ARGS', async () => {
    await call(env());
    expect((await del({ CNI_ARGS: 'garbage' })).code).toBe(0);
    expect(ipam.held.size).toBe(0);
  });
});

describe('CHECK against prevResult', () => {
  async function added(conf: Record<string, unknown> = CONF) {
    const r = await call(env(), conf);
    expect(r.code).toBe(0);
    return r.out as Record<string, unknown>;
  }
  const check = (prevResult: unknown, conf: Record<string, unknown> = CONF) =>
    call(env({ CNI_COMMAND: 'CHECK' }), { ...conf, prevResult });

  it('passes on an intact attachment and prints nothing', async () => {
    const prev = await added();
    const r = await check(prev);
    expect(r).toStrictEqual({ code: 0, out: undefined });
  });

  it('passes with routes that have no gateway (a bug the reference plugins had)', async () => {
    const prev = await added({ ...CONF, multicast: true });
    expect((prev.routes as unknown[]).length).toBe(2);
    expect((await check(prev, { ...CONF, multicast: true })).code).toBe(0);
  });

  it('tolerates a MAC changed by a later plugin when prevResult records it', async () => {
    const prev = await added();
    const ctr = fake.container(NS).kernel;
    await ctr.setLink('eth0', { mac: '02:11:22:33:44:55' });
    (prev.interfaces as Array<{ mac: string }>)[2]!.mac = '02:11:22:33:44:55';
    expect((await check(prev)).code).toBe(0);
  });

  it.each([
    ['the address was removed', async () => fake.container(NS).kernel.deleteAddress('eth0', '10.32.0.5/12')],
    [
      'the host end left the bridge',
      async () => fake.host.kernel.setLink(hostVethName('ctr1', 'eth0'), { master: null }),
    ],
    [
      'the MAC changed behind our back',
      async () => fake.container(NS).kernel.setLink('eth0', { mac: '02:99:99:99:99:99' }),
    ],
    ['the pair is gone', async () => fake.host.kernel.deleteLink(hostVethName('ctr1', 'eth0'))],
    ['the address was released in IPAM', async () => ipam.held.clear()],
  ])('fails (code 100) when %s', async (_n, tamper) => {
    const prev = await added();
    await tamper();
    const r = await check(prev);
    expect(errCode(r)).toBe(CniCode.CHECK_FAILED);
  });

  it('without prevResult → 7', async () => {
    await added();
    expect(errCode(await call(env({ CNI_COMMAND: 'CHECK' })))).toBe(CniCode.INVALID_CONFIG);
  });
});

describe('GC against cni.dev/valid-attachments', () => {
  const ids = ['a1', 'b2', 'c3'];
  beforeEach(async () => {
    for (const id of ids) {
      fake.container(`/ns/${id}`);
      expect((await call(env({ CNI_CONTAINERID: id, CNI_NETNS: `/ns/${id}` }))).code).toBe(0);
    }
  });
  const gc = (valid: unknown, key = 'cni.dev/valid-attachments') =>
    call(
      { CNI_COMMAND: 'GC', CNI_PATH: '/x' },
      { ...CONF, cniVersion: '1.1.0', ...(valid === undefined ? {} : { [key]: valid }) },
    );
  const vethsLeft = async () => (await hostLinks()).filter((n) => n.startsWith('wfc'));

  it('removes the stale veths and releases their addresses, keeps the valid one', async () => {
    const r = await gc([{ containerID: 'b2', ifname: 'eth0' }]);
    expect(r.code).toBe(0);
    expect(await vethsLeft()).toStrictEqual([hostVethName('b2', 'eth0')]);
    expect([...ipam.held.keys()]).toStrictEqual(['weft/b2/eth0']);
  });

  it("libcni's older key cni.dev/attachments is honoured", async () => {
    expect((await gc([{ containerID: 'a1', ifname: 'eth0' }], 'cni.dev/attachments')).code).toBe(0);
    expect(await vethsLeft()).toStrictEqual([hostVethName('a1', 'eth0')]);
  });

  it.each([
    ['null (an empty list)', null],
    ['a missing key (everything is stale)', undefined],
  ])('%s removes everything of ours', async (_n, valid) => {
    expect((await gc(valid)).code).toBe(0);
    expect(await vethsLeft()).toStrictEqual([]);
    expect(ipam.held.size).toBe(0);
  });

  it('keeps going past one failure and reports it', async () => {
    fake.world.failNext('deleteLink', 'EBUSY');
    const r = await gc([]);
    expect(r.code).not.toBe(0);
    expect((await vethsLeft()).length).toBe(1);
    expect(ipam.gcCalls.length).toBe(1);
  });

  it('leaves links that are not ours alone', async () => {
    await fake.host.kernel.createVeth('vethother', { name: 'peer0' });
    await fake.host.kernel.setLink('vethother', { master: 'weft' });
    expect((await gc([])).code).toBe(0);
    expect(await fake.host.kernel.getLink('vethother')).toBeDefined();
  });
});

describe('STATUS', () => {
  const status = () => call({ CNI_COMMAND: 'STATUS', CNI_PATH: '/x' }, { ...CONF, cniVersion: '1.1.0' });

  it('0 when the bridge exists and IPAM is ready', async () => {
    expect(await status()).toStrictEqual({ code: 0, out: undefined });
  });

  it('50 when the router (IPAM) is down', async () => {
    ipam.down = true;
    expect(errCode(await status())).toBe(CniCode.PLUGIN_NOT_AVAILABLE);
  });

  it('50 when the bridge is missing', async () => {
    await fake.host.kernel.deleteLink('weft');
    expect(errCode(await status())).toBe(CniCode.PLUGIN_NOT_AVAILABLE);
  });
});
