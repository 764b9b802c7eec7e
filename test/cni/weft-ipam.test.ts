/** Checklist §3 (the IPAM plugin, host-local as the model): weft-ipam's verbs against a fake router. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { weftIpamVerbs } from '../../cni-plugin/ipam-plugin/verbs.js';
import { runPlugin } from '../../cni-plugin/skel.js';
import { CniCode } from '../../cni-plugin/spec/errors.js';
import { nullLogger } from '../../common/logger.js';
import { FakeRouter } from './fake-router.js';

let router: FakeRouter;
beforeEach(async () => {
  router = new FakeRouter();
  await router.listen();
});
afterEach(() => router.close());

const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'brnet',
  type: 'bridge',
  bridge: 'cni0',
  ipam: { type: 'weft-ipam', router: router.endpoint, timeoutMs: 1000, ...extra },
});

async function call(
  command: string,
  c: Record<string, unknown> = conf(),
  over: Record<string, string | undefined> = {},
) {
  const outs: string[] = [];
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c1',
    CNI_NETNS: '/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/p',
    ...over,
  };
  const code = await runPlugin(
    { ...weftIpamVerbs(), logger: () => nullLogger },
    {
      env,
      readStdin: () => JSON.stringify(c),
      stdout: (s) => outs.push(s),
      stderr: () => {},
      isOwnNetns: () => false,
    },
  );
  return { code, out: outs.length ? JSON.parse(outs.join('')) : undefined };
}

describe('weft-ipam', () => {
  it('ADD returns an IPAM result: address (no interface index), configured gateway and routes, in the config version', async () => {
    const r = await call('ADD', conf({ gateway: '10.32.0.1', routes: [{ dst: '0.0.0.0/0' }] }));
    expect(r).toStrictEqual({
      code: 0,
      out: {
        cniVersion: '1.0.0',
        ips: [{ address: '10.32.0.2/12', gateway: '10.32.0.1' }],
        routes: [{ dst: '0.0.0.0/0' }],
        dns: {},
      },
    });
  });

  it('in a 0.2.0 config the result is ip4-shaped', async () => {
    const r = await call('ADD', { ...conf(), cniVersion: '0.2.0' });
    expect(r.out).toStrictEqual({ cniVersion: '0.2.0', ip4: { ip: '10.32.0.2/12' }, dns: {} });
  });

  it('ADD for an attachment that already has an address is an error (101), the address stays', async () => {
    expect((await call('ADD')).code).toBe(0);
    const again = await call('ADD');
    expect(again.out.code).toBe(CniCode.ALREADY_ALLOCATED);
    expect(router.held.get('cni:brnet:c1:eth0')).toBe('10.32.0.2/12');
  });

  it('the same container on another ifname gets its own address', async () => {
    await call('ADD');
    const r = await call('ADD', conf(), { CNI_IFNAME: 'net1' });
    expect(r.out.ips[0].address).toBe('10.32.0.3/12');
  });

  it('requested IP from CNI_ARGS is claimed', async () => {
    const r = await call('ADD', conf(), { CNI_ARGS: 'IP=10.32.7.7/12' });
    expect(r.out.ips[0].address).toBe('10.32.7.7/12');
  });

  it('DEL releases, DEL again and DEL without netns succeed, and never need a namespace', async () => {
    await call('ADD');
    expect((await call('DEL', conf(), { CNI_NETNS: undefined })).code).toBe(0);
    expect(router.held.size).toBe(0);
    expect((await call('DEL')).code).toBe(0);
  });

  it('router down → 11 on ADD and DEL', async () => {
    const c = conf();
    await router.close();
    expect((await call('ADD', c)).out.code).toBe(CniCode.TRY_AGAIN_LATER);
    expect((await call('DEL', c)).out.code).toBe(CniCode.TRY_AGAIN_LATER);
  });

  it('CHECK verifies the allocation exists (and matches prevResult when given)', async () => {
    const added = await call('ADD');
    const prevResult = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/x' }],
      ips: [{ ...added.out.ips[0], interface: 2 }],
    };
    expect((await call('CHECK', { ...conf(), prevResult })).code).toBe(0);
    expect((await call('CHECK')).code).toBe(0);
    router.held.clear();
    expect((await call('CHECK', { ...conf(), prevResult })).out.code).toBe(CniCode.CHECK_FAILED);
    expect((await call('CHECK')).out.code).toBe(CniCode.CHECK_FAILED);
  });

  it('GC releases what is not valid; STATUS is 0 when ready and 50 when not', async () => {
    await call('ADD', conf(), { CNI_CONTAINERID: 'a' });
    await call('ADD', conf(), { CNI_CONTAINERID: 'b' });
    const gc = await call('GC', {
      ...conf(),
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }],
    });
    expect(gc.code).toBe(0);
    expect([...router.held.keys()]).toStrictEqual(['cni:brnet:a:eth0']);
    expect((await call('STATUS', { ...conf(), cniVersion: '1.1.0' })).code).toBe(0);
    router.mode = 'not-ready';
    expect((await call('STATUS', { ...conf(), cniVersion: '1.1.0' })).out.code).toBe(
      CniCode.PLUGIN_NOT_AVAILABLE,
    );
  });
});
