import { parseWeftIpamConfig, parseWeftNetConfig } from '../../../cni-plugin/config.js';
import { requestedIp, requestedMac } from '../../../cni-plugin/requested.js';
import { type PluginVerbs, runPlugin } from '../../../cni-plugin/skel.js';
import { validAttachments } from '../../../cni-plugin/spec/gc.js';
import { decodePrevResult } from '../../../cni-plugin/spec/netconf.js';
import { emptyResult } from '../../../cni-plugin/spec/result.js';
import { nullLogger } from '../../../common/logger.js';
import { check, type FuzzTarget, utf8 } from './target.js';

const COMMANDS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION', '', 'add'];
const BASE_ENV: Record<string, string> = {
  CNI_CONTAINERID: 'c0ffee',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

/** Verbs that do what the real ones do with their input (parse it all), and nothing else. */
const verbs: PluginVerbs = {
  name: 'weft-net',
  about: 'fuzz',
  argKeys: ['IgnoreUnknown', 'K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'IP', 'MAC'],
  logger: () => nullLogger,
  async add(inv) {
    parseWeftNetConfig(inv.conf);
    if (inv.conf.ipam) parseWeftIpamConfig(inv.conf.ipam);
    requestedIp(inv.conf, inv.args);
    requestedMac(inv.conf, inv.args);
    // Like the real verb: our address first, then whatever the chain had (the shell encodes it
    // in the config's version, so a decoded prevResult goes through every down-conversion).
    const prev = decodePrevResult(inv.conf) ?? emptyResult();
    return { ...prev, ips: [{ address: '10.32.0.2/12' }, ...prev.ips] };
  },
  async del(inv) {
    parseWeftNetConfig(inv.conf);
  },
  async check(inv) {
    parseWeftNetConfig(inv.conf);
    decodePrevResult(inv.conf);
  },
  async gc(inv) {
    validAttachments(inv.conf);
  },
  async status(inv) {
    parseWeftNetConfig(inv.conf);
  },
};

/**
 * Input: [command, stdin, (KEY=VALUE)…] separated by NUL bytes: the network
 * config on stdin and the CNI_* environment, as a runtime (or anyone who can
 * write a CNI config) hands them to the plugin, through the plugin's real
 * shell (cni-plugin/skel.ts) and config parsers. Every outcome must be one
 * JSON document on stdout; an error must carry a spec code, never 999 (an
 * exception the parsers did not turn into a CNI error).
 */
export const target: FuzzTarget = {
  name: 'cni',
  decoder:
    'cni-plugin skel.ts runPlugin: spec/env.ts, cni-args.ts, netconf.ts, result.ts; config.ts, requested.ts',
  maxLen: 4096,
  seeds: () => {
    const conf = (o: object) => JSON.stringify({ cniVersion: '1.0.0', name: 'weft', type: 'weft-net', ...o });
    const join = (cmd: number, stdin: string, ...env: string[]) =>
      utf8([String.fromCharCode(cmd), stdin, ...env].join('\0'));
    return [
      join(0, conf({})),
      join(
        0,
        conf({ ipam: { type: 'weft-ipam', subnet: '10.32.1.0/24', routes: [{ dst: '0.0.0.0/0' }] } }),
        'CNI_ARGS=IP=10.32.1.5;MAC=02:00:00:00:00:01',
      ),
      join(
        2,
        conf({
          prevResult: {
            interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/x' }],
            ips: [{ address: '10.32.0.2/12', interface: 0, gateway: '10.32.0.1' }],
            routes: [{ dst: '0.0.0.0/0' }],
            dns: {},
          },
        }),
      ),
      join(3, conf({ 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }] })),
      join(
        0,
        JSON.stringify({
          cniVersion: '0.3.1',
          name: 'n',
          type: 'weft-net',
          mtu: 1390,
          hairpinMode: false,
          args: { cni: { ips: ['10.32.0.9'] } },
        }),
        'CNI_IFNAME=weth1',
      ),
      join(5, '{"cniVersion":"0.4.0"}'),
      join(
        0,
        '{"cniVersion":"0.1.0","name":"x","type":"weft-net","router":"127.0.0.1:6784","routerTimeoutMs":500}',
        'CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=p',
      ),
    ];
  },
  async run(data) {
    if (data.length === 0) return;
    const parts = Buffer.from(data.subarray(1)).toString('utf8').split('\0');
    const env: Record<string, string> = { ...BASE_ENV, CNI_COMMAND: COMMANDS[data[0]! % COMMANDS.length]! };
    for (const kv of parts.slice(1)) {
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const out: string[] = [];
    const code = await runPlugin(verbs, {
      env,
      readStdin: () => parts[0] ?? '',
      stdout: (s) => out.push(s),
      stderr: () => {},
      isOwnNetns: () => false,
    });
    check(code === 0 || code === 1, `exit code ${code}`);
    check(out.length <= 1, 'more than one document on stdout');
    if (out.length === 1) {
      const doc = JSON.parse(out[0]!) as { code?: number; msg?: string };
      if (code === 1) {
        check(typeof doc.code === 'number' && typeof doc.msg === 'string', 'error document without code/msg');
        check(doc.code !== 999, `an unexpected exception escaped the parsers: ${doc.msg}`);
      }
    } else check(code === 0, 'an error without an error document');
  },
};
