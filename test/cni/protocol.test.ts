/**
 * Checklist §2 (plugin protocol): environment and stdin validation with the
 * spec's error codes, the error document, VERSION, the about text, and that
 * exactly one JSON document reaches stdout. Runs the real shell (skel.ts)
 * with verbs that record what reached them.
 */
import { describe, expect, it } from 'vitest';
import { type Invocation, type PluginVerbs, type ProcessIo, runPlugin } from '../../cni-plugin/skel.js';
import { CniCode, CniError } from '../../cni-plugin/spec/errors.js';
import { SUPPORTED_VERSIONS } from '../../cni-plugin/spec/version.js';
import { nullLogger, RecordingLogger } from '../../common/logger.js';

interface Run {
  code: number;
  stdout: string[];
  stderr: string[];
  calls: Array<{ verb: string; inv: Invocation }>;
}

function verbs(calls: Run['calls'], fail?: unknown): PluginVerbs {
  const rec = (verb: string) => async (inv: Invocation) => {
    calls.push({ verb, inv });
    if (fail) throw fail;
  };
  return {
    name: 'test',
    about: 'CNI plugin test v0',
    logger: () => nullLogger,
    add: async (inv) => {
      await rec('ADD')(inv);
      return { interfaces: [], ips: [{ address: '10.32.0.5/12', interface: 0 }], routes: [], dns: {} };
    },
    del: rec('DEL'),
    check: rec('CHECK'),
    gc: rec('GC'),
    status: rec('STATUS'),
  };
}

const BASE_ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'abc123',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

async function run(
  env: Record<string, string | undefined>,
  stdin: unknown = { cniVersion: '1.0.0', name: 'weft', type: 'test' },
  opts: { ownNetns?: string; fail?: unknown; stdinThrows?: boolean } = {},
): Promise<Run> {
  const r: Run = { code: -1, stdout: [], stderr: [], calls: [] };
  const io: ProcessIo = {
    env,
    readStdin: () => {
      if (opts.stdinThrows) throw new Error('EIO');
      return typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
    },
    stdout: (s) => r.stdout.push(s),
    stderr: (s) => r.stderr.push(s),
    isOwnNetns: (p) => p === opts.ownNetns,
  };
  r.code = await runPlugin(verbs(r.calls, opts.fail), io);
  return r;
}

function errorOf(r: Run): { cniVersion: string; code: number; msg: string; details?: string } {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toHaveLength(1);
  return JSON.parse(r.stdout[0]!);
}

describe('required environment per verb (missing → code 4)', () => {
  const cases: Array<[string, string, boolean]> = [];
  const vars = ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'];
  const needed: Record<string, string[]> = {
    ADD: vars,
    CHECK: vars,
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
    GC: ['CNI_PATH'],
    STATUS: ['CNI_PATH'],
  };
  for (const [verb, req] of Object.entries(needed))
    for (const v of vars) cases.push([verb, v, req.includes(v)]);

  it.each(cases)('%s without %s: required=%s', async (verb, missing, required) => {
    const version = verb === 'GC' || verb === 'STATUS' ? '1.1.0' : '1.0.0';
    const env: Record<string, string | undefined> = { ...BASE_ENV, CNI_COMMAND: verb, [missing]: undefined };
    const r = await run(env, { cniVersion: version, name: 'weft', type: 'test' });
    if (required) {
      const e = errorOf(r);
      expect(e.code).toBe(CniCode.INVALID_ENVIRONMENT);
      expect(e.msg).toContain(missing);
      expect(r.calls).toHaveLength(0);
    } else {
      expect(r.code).toBe(0);
      expect(r.calls.map((c) => c.verb)).toStrictEqual([verb]);
    }
  });

  it('an empty variable counts as missing, and all missing ones are named', async () => {
    const e = errorOf(await run({ ...BASE_ENV, CNI_IFNAME: '', CNI_PATH: '' }));
    expect(e.msg).toBe('required env variables [CNI_IFNAME,CNI_PATH] missing');
  });

  it('VERSION needs only CNI_COMMAND and answers with every supported version', async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, '');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout[0]!)).toStrictEqual({
      cniVersion: '1.1.0',
      supportedVersions: [...SUPPORTED_VERSIONS],
    });
  });

  it.each(SUPPORTED_VERSIONS)('VERSION asked in %s answers in %s', async (v) => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, { cniVersion: v });
    expect(JSON.parse(r.stdout[0]!).cniVersion).toBe(v);
  });

  it('only CNI_* variables and nothing else are needed (Mesos passes a minimal environment)', async () => {
    const r = await run({ ...BASE_ENV });
    expect(r.code).toBe(0);
  });
});

describe('CNI_COMMAND', () => {
  it.each([[undefined], ['']])(
    'unset or empty (%s) prints the about text on stderr and exits 0',
    async (cmd) => {
      const r = await run({ ...BASE_ENV, CNI_COMMAND: cmd });
      expect(r.code).toBe(0);
      expect(r.stdout).toHaveLength(0);
      expect(r.stderr.join('')).toContain('CNI plugin test');
    },
  );

  it.each(['FOO', 'add', 'Delete', 'DELETE'])(
    'unknown command %s → code 4 "unknown CNI_COMMAND"',
    async (cmd) => {
      const e = errorOf(await run({ ...BASE_ENV, CNI_COMMAND: cmd }));
      expect(e.code).toBe(CniCode.INVALID_ENVIRONMENT);
      expect(e.msg).toBe(`unknown CNI_COMMAND: ${cmd}`);
    },
  );
});

describe('validation of identifiers', () => {
  it.each([
    ['abc', true],
    ['a.b_c-d', true],
    ['0abc', true],
    ['-abc', false],
    ['.abc', false],
    ['a/b', false],
    ['a b', false],
    ['a:b', false],
    ['ä', false],
  ])('container id %j valid=%s (bad → 4)', async (id, valid) => {
    const r = await run({ ...BASE_ENV, CNI_CONTAINERID: id });
    if (valid) expect(r.code).toBe(0);
    else expect(errorOf(r).code).toBe(CniCode.INVALID_ENVIRONMENT);
  });

  it.each([
    ['weft', true],
    ['my-net.v2_x', true],
    ['', false],
    ['-net', false],
    ['net/1', false],
    ['net 1', false],
  ])('network name %j valid=%s (bad → 7)', async (name, valid) => {
    const r = await run(BASE_ENV, { cniVersion: '1.0.0', name, type: 'test' });
    if (valid) expect(r.code).toBe(0);
    else expect(errorOf(r).code).toBe(CniCode.INVALID_CONFIG);
  });

  it('a config without a name → 7 "missing network name"', async () => {
    const e = errorOf(await run(BASE_ENV, { cniVersion: '1.0.0', type: 'test' }));
    expect(e).toMatchObject({ code: 7, msg: 'missing network name' });
  });

  it.each([
    ['eth0', true],
    ['a', true],
    ['fifteen-bytes15', true],
    ['sixteen-bytes-16', false],
    ['ethé1234567890', true],
    ['ethé12345678901', false],
    ['.', false],
    ['..', false],
    ['eth/0', false],
    ['eth:0', false],
    ['eth 0', false],
    ['eth\t0', false],
  ])('ifname %j valid=%s (bad → 4)', async (ifname, valid) => {
    const r = await run({ ...BASE_ENV, CNI_IFNAME: ifname });
    if (valid) expect(r.code).toBe(0);
    else expect(errorOf(r).code).toBe(CniCode.INVALID_ENVIRONMENT);
  });
});

describe('stdin and versions', () => {
  it.each(['', 'not json', '{"cniVersion":', '[1,2]', 'null', '"str"'])('stdin %j → 6', async (stdin) => {
    expect(errorOf(await run(BASE_ENV, stdin)).code).toBe(CniCode.DECODE_FAILURE);
  });

  it('stdin that cannot be read → 5', async () => {
    expect(errorOf(await run(BASE_ENV, '', { stdinThrows: true })).code).toBe(CniCode.IO_FAILURE);
  });

  it.each(['0.5.0', '1.2.0', '2.0.0', 'abc', 1])(
    'unsupported cniVersion %j → 1 "incompatible CNI versions"',
    async (v) => {
      const e = errorOf(await run(BASE_ENV, { cniVersion: v, name: 'weft', type: 'test' }));
      expect(e.code).toBe(CniCode.INCOMPATIBLE_VERSION);
      expect(e.msg).toBe('incompatible CNI versions');
      expect(e.details).toContain('plugin supports');
    },
  );

  it('missing cniVersion means 0.1.0: the result has the ip4 shape', async () => {
    const r = await run(BASE_ENV, { name: 'weft', type: 'test' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout[0]!)).toStrictEqual({
      cniVersion: '0.1.0',
      ip4: { ip: '10.32.0.5/12' },
      dns: {},
    });
  });

  it.each(['0.1.0', '0.2.0', '0.3.0', '0.3.1'])('CHECK with config %s → 1', async (v) => {
    const e = errorOf(
      await run({ ...BASE_ENV, CNI_COMMAND: 'CHECK' }, { cniVersion: v, name: 'weft', type: 'test' }),
    );
    expect(e).toMatchObject({ code: 1, msg: 'config version does not allow CHECK' });
  });

  it.each(['GC', 'STATUS'])('%s below 1.1.0 → 1; at 1.1.0 it runs', async (verb) => {
    for (const v of SUPPORTED_VERSIONS) {
      const r = await run(
        { CNI_COMMAND: verb, CNI_PATH: '/x' },
        { cniVersion: v, name: 'weft', type: 'test' },
      );
      if (v === '1.1.0') expect(r.code).toBe(0);
      else expect(errorOf(r)).toMatchObject({ code: 1, msg: `config version does not allow ${verb}` });
    }
  });

  it('args with foreign keys (podman, Mesos) is tolerated and passed on untouched', async () => {
    const args = { 'org.apache.mesos': { network_info: { name: 'weft' } }, cni: { ips: ['10.32.0.9'] } };
    const r = await run(BASE_ENV, { cniVersion: '1.0.0', name: 'weft', type: 'test', args });
    expect(r.code).toBe(0);
    expect(r.calls[0]?.inv.conf.args).toStrictEqual(args);
  });

  it.each([
    ['ipam not an object', { ipam: 'host-local' }],
    ['ipam without type', { ipam: { subnet: '10.0.0.0/8' } }],
    ['runtimeConfig not an object', { runtimeConfig: [1] }],
    ['args not an object', { args: 'x' }],
    ['dns nameservers not a list', { dns: { nameservers: '1.1.1.1' } }],
    ['type not a string', { type: 5 }],
  ])('%s → 7', async (_n, extra) => {
    const e = errorOf(await run(BASE_ENV, { cniVersion: '1.0.0', name: 'weft', type: 'test', ...extra }));
    expect(e.code).toBe(CniCode.INVALID_CONFIG);
  });
});

describe("CNI_NETNS must not be the plugin's own namespace", () => {
  it.each(['ADD', 'CHECK', 'DEL'])('%s in the own netns → 8', async (verb) => {
    const e = errorOf(
      await run({ ...BASE_ENV, CNI_COMMAND: verb }, undefined, { ownNetns: BASE_ENV.CNI_NETNS }),
    );
    expect(e.code).toBe(CniCode.INVALID_NETNS);
  });

  it('CNI_NETNS_OVERRIDE=1 allows it', async () => {
    const r = await run({ ...BASE_ENV, CNI_NETNS_OVERRIDE: '1' }, undefined, {
      ownNetns: BASE_ENV.CNI_NETNS,
    });
    expect(r.code).toBe(0);
  });
});

describe('errors and output hygiene', () => {
  it("the error document is {cniVersion (the config's), code, msg, details}", async () => {
    const r = await run(
      BASE_ENV,
      { cniVersion: '0.4.0', name: 'weft', type: 'test' },
      {
        fail: new CniError(CniCode.TRY_AGAIN_LATER, 'router down', 'start it'),
      },
    );
    expect(errorOf(r)).toStrictEqual({
      cniVersion: '0.4.0',
      code: 11,
      msg: 'router down',
      details: 'start it',
    });
  });

  it('a WeftError is mapped through the catalogue (ROUTER_UNAVAILABLE → 11)', async () => {
    const { WeftError } = await import('../../common/errors.js');
    const r = await run(BASE_ENV, undefined, { fail: new WeftError('ROUTER_UNAVAILABLE', 'no router') });
    expect(errorOf(r)).toMatchObject({ code: 11, msg: 'no router' });
  });

  it('a failure is also logged for the operator (never on stdout)', async () => {
    const records = new RecordingLogger();
    const outs: string[] = [];
    const code = await runPlugin(
      { ...verbs([], new CniError(CniCode.TRY_AGAIN_LATER, 'router down')), logger: () => records },
      {
        env: BASE_ENV,
        readStdin: () => '{"cniVersion":"1.0.0","name":"weft"}',
        stdout: (s) => outs.push(s),
        stderr: () => {},
        isOwnNetns: () => false,
      },
    );
    expect(code).toBe(1);
    expect(outs).toHaveLength(1);
    expect(records.records).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'failed',
        fields: expect.objectContaining({ code: 11, err: 'router down', cmd: 'ADD' }),
      }),
    );
  });

  it('anything else thrown is code 999 with its message', async () => {
    const r = await run(BASE_ENV, undefined, { fail: new TypeError('boom') });
    expect(errorOf(r)).toMatchObject({ code: 999, msg: 'boom' });
  });

  it('an error before the config is read carries the newest version', async () => {
    expect(errorOf(await run({ ...BASE_ENV, CNI_COMMAND: 'X' })).cniVersion).toBe('1.1.0');
  });

  it.each(['ADD', 'DEL', 'CHECK'])(
    '%s writes exactly one JSON document or nothing (no logs on stdout)',
    async (verb) => {
      const r = await run({ ...BASE_ENV, CNI_COMMAND: verb });
      expect(r.code).toBe(0);
      if (verb === 'ADD') {
        expect(r.stdout).toHaveLength(1);
        expect(() => JSON.parse(r.stdout[0]!)).not.toThrow();
      } else expect(r.stdout).toHaveLength(0);
    },
  );
});

describe('CNI_ARGS reach the verbs parsed; a bad CNI_ARGS fails ADD but not DEL', () => {
  it('ADD with an unknown key and no IgnoreUnknown → 4', async () => {
    const e = errorOf(await run({ ...BASE_ENV, CNI_ARGS: 'FOO=bar' }));
    expect(e.code).toBe(CniCode.INVALID_ENVIRONMENT);
  });

  it('DEL with the same CNI_ARGS still runs', async () => {
    const r = await run({ ...BASE_ENV, CNI_COMMAND: 'DEL', CNI_ARGS: 'FOO=bar' });
    expect(r.code).toBe(0);
    expect(r.calls.map((c) => c.verb)).toStrictEqual(['DEL']);
  });

  it('known keys arrive in inv.args', async () => {
    const r = await run({ ...BASE_ENV, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web;X=y' });
    expect(r.calls[0]?.inv.args.known.get('K8S_POD_NAME')).toBe('web');
  });
});
