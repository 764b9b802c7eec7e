/**
 * Checklist §3 (IPAM delegation), with the real host-local plugin from
 * Debian's containernetworking-plugins (it needs no root: its state lives in
 * a directory we choose) and small scripts that misbehave on purpose.
 */
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { delegateIpam, findPlugin } from '../../cni-plugin/ipam/delegate.js';
import { hostVethName } from '../../cni-plugin/naming.js';
import { weftNetVerbs } from '../../cni-plugin/net/verbs.js';
import { runPlugin } from '../../cni-plugin/skel.js';
import { CniCode, CniError } from '../../cni-plugin/spec/errors.js';
import { nullLogger } from '../../common/logger.js';
import { FakeHost } from './fakes.js';

const REF = '/usr/lib/cni';
const haveHostLocal = existsSync(join(REF, 'host-local'));
const dir = mkdtempSync(join(tmpdir(), 'weft-cni-delegate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): void {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
}
script('prints-garbage', 'echo "hello"; exit 0');
script('fails-silently', 'echo "oops" >&2; exit 3');
script('records-commands', `cat > /dev/null; echo "$CNI_COMMAND" >> "${dir}/commands.log"; exit 0`);
script(
  'fails-with-cni-error',
  'echo \'{"cniVersion":"1.0.0","code":11,"msg":"busy","details":"try later"}\'; exit 1',
);
script(
  'echo-env',
  'cat > /dev/null; printf \'{"cniVersion":"1.0.0","ips":[{"address":"10.1.0.2/24","interface":7}],"dns":{"domain":"%s"}}\' "$CNI_COMMAND-$CNI_CONTAINERID"',
);

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(dir, 'hl-'));
});

const hostLocalConf = (subnet = '10.77.0.0/24') => ({
  cniVersion: '1.0.0',
  name: 'dnet',
  type: 'weft-net',
  ipam: { type: 'host-local', subnet, dataDir: '' as string, routes: [{ dst: '0.0.0.0/0' }] },
});

function delegate(type: string, conf: unknown, env: Record<string, string> = {}) {
  return delegateIpam({
    type,
    path: [dir, REF],
    env: {
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/x',
      CNI_IFNAME: 'eth0',
      CNI_PATH: `${dir}:${REF}`,
      PATH: process.env.PATH,
      ...env,
    },
    stdin: JSON.stringify(conf),
    cniVersion: '1.0.0',
  });
}

describe('finding and running the IPAM plugin', () => {
  it('finds the binary named exactly as ipam.type in CNI_PATH order', () => {
    expect(findPlugin('echo-env', [REF, dir])).toBe(join(dir, 'echo-env'));
  });

  it.each(['no-such-plugin', '../etc/passwd', 'a/b'])('refuses %j', (type) => {
    expect(() => findPlugin(type, [dir])).toThrow(CniError);
  });

  it('passes our environment with only CNI_COMMAND changed, and drops interface indexes from its result', async () => {
    const r = await delegate('echo-env', {}).add({ network: 'n', containerId: 'c1', ifname: 'eth0' });
    expect(r.dns.domain).toBe('ADD-c1');
    expect(r.ips).toStrictEqual([{ address: '10.1.0.2/24' }]);
  });

  it('forwards DEL, CHECK, GC and STATUS to the IPAM plugin', async () => {
    const d = delegate('records-commands', {});
    const ctx = { network: 'n', containerId: 'c1', ifname: 'eth0' };
    await d.del(ctx);
    await d.check(ctx, []);
    await d.gc('n', []);
    await d.status();
    expect(readFileSync(join(dir, 'commands.log'), 'utf8').split('\n').filter(Boolean)).toStrictEqual([
      'DEL',
      'CHECK',
      'GC',
      'STATUS',
    ]);
  });

  it.each([
    ['prints-garbage', CniCode.DELEGATE_FAILED],
    ['fails-silently', CniCode.DELEGATE_FAILED],
    ['fails-with-cni-error', CniCode.TRY_AGAIN_LATER],
    ['no-such-plugin', CniCode.DELEGATE_FAILED],
  ])('%s → code %d', async (type, code) => {
    const e = await delegate(type, {})
      .add({ network: 'n', containerId: 'c1', ifname: 'eth0' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).code).toBe(code);
  });
});

describe.skipIf(!haveHostLocal)('with the real host-local', () => {
  it('ADD allocates, DEL releases, DEL again succeeds', async () => {
    const conf = hostLocalConf();
    conf.ipam.dataDir = dataDir;
    const d = delegate('host-local', conf);
    const ctx = { network: 'dnet', containerId: 'c1', ifname: 'eth0' };
    const r = await d.add(ctx);
    expect(r.ips).toStrictEqual([{ address: '10.77.0.2/24', gateway: '10.77.0.1' }]);
    expect(r.routes).toStrictEqual([{ dst: '0.0.0.0/0' }]);
    expect(readdirSync(join(dataDir, 'dnet'))).toContain('10.77.0.2');
    await d.del(ctx);
    expect(readdirSync(join(dataDir, 'dnet'))).not.toContain('10.77.0.2');
    await d.del(ctx);
  });

  it("host-local's own error code comes through (range exhausted)", async () => {
    const conf = hostLocalConf('10.77.1.0/30');
    conf.ipam.dataDir = dataDir;
    await delegate('host-local', conf, { CNI_CONTAINERID: 'a' }).add({
      network: 'dnet',
      containerId: 'a',
      ifname: 'eth0',
    });
    const e = await delegate('host-local', conf, { CNI_CONTAINERID: 'b' })
      .add({ network: 'dnet', containerId: 'b', ifname: 'eth0' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CniError);
    expect((e as CniError).message).toMatch(/no IP addresses available/i);
  });

  it('weft-net with ipam host-local: IPs get interface 2; a later failure calls host-local DEL', async () => {
    const fake = new FakeHost();
    fake.container('/ns/c1');
    const conf = { ...hostLocalConf(), bridge: 'dbr0', multicast: true };
    conf.ipam.dataDir = dataDir;
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c1',
      CNI_NETNS: '/ns/c1',
      CNI_IFNAME: 'eth0',
      CNI_PATH: `${dir}:${REF}`,
    };
    // No `ipam` override: weft-net picks delegation from ipam.type itself.
    const run = async (e: Record<string, string>) => {
      const outs: string[] = [];
      const code = await runPlugin(
        { ...weftNetVerbs({ kernel: async () => fake.access() }), logger: () => nullLogger },
        {
          env: e,
          readStdin: () => JSON.stringify(conf),
          stdout: (s) => outs.push(s),
          stderr: () => {},
          isOwnNetns: () => false,
        },
      );
      return { code, out: outs.length ? JSON.parse(outs.join('')) : undefined };
    };
    const ok = await run(env);
    expect(ok.code).toBe(0);
    expect(ok.out.ips).toStrictEqual([{ interface: 2, address: '10.77.0.2/24', gateway: '10.77.0.1' }]);
    expect(ok.out.routes).toStrictEqual([
      { dst: '10.77.0.0/24' },
      { dst: '0.0.0.0/0', gw: '10.77.0.1' },
      { dst: '224.0.0.0/4' },
    ]);
    expect((await run({ ...env, CNI_COMMAND: 'DEL' })).code).toBe(0);
    expect(readdirSync(join(dataDir, 'dnet'))).not.toContain('10.77.0.2');

    fake.world.failNext('addRoute', 'ENETUNREACH');
    const failed = await run(env);
    expect(failed.code).not.toBe(0);
    expect(readdirSync(join(dataDir, 'dnet')).filter((f) => f.startsWith('10.'))).toStrictEqual([]);
    expect(await fake.host.kernel.getLink(hostVethName('c1', 'eth0'))).toBeUndefined();
  });
});
