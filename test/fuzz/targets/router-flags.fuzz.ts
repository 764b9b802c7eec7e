import { isWeftError } from '../../../common/errors.js';
import { parseRouterConfig, type RouterFlags } from '../../../router/cli/router-config.js';
import { parseIpallocFlags } from '../../../router/ipam-service/flags.js';
import { check, type FuzzTarget, utf8 } from './target.js';

const KEYS = [
  'name',
  'nickname',
  'port',
  'host',
  'httpAddr',
  'metricsAddr',
  'dataDir',
  'password',
  'connLimit',
  'logLevel',
  'mtu',
  'ipallocRange',
  'ipallocInit',
  'ipallocDefaultSubnet',
] as const;

/**
 * `weft router` flags, peers and environment as a user types them, through
 * the pure validators the CLI runs before anything else
 * (router/cli/router-config.ts, router/ipam-service/flags.ts). Input:
 * [peers (space-separated), (key index byte + value)…] NUL-separated. A
 * value is valid or a one-line WeftError — never another exception (a WeftError of a 400 code: BAD_REQUEST, INVALID_PEER_ADDRESS, …), and an
 * error never repeats the password.
 */
export const target: FuzzTarget = {
  name: 'router-flags',
  decoder: 'router/cli/router-config.ts parseRouterConfig, router/ipam-service/flags.ts parseIpallocFlags',
  maxLen: 1024,
  seeds: () => {
    const kv = (k: (typeof KEYS)[number], v: string) => `${String.fromCharCode(KEYS.indexOf(k))}${v}`;
    return [
      utf8(
        [
          '198.18.0.2 198.18.0.3:7000',
          kv('port', '6783'),
          kv('httpAddr', '127.0.0.1:6784'),
          kv('password', 's3cret'),
        ].join('\0'),
      ),
      utf8(
        [
          '',
          kv('ipallocInit', 'seed=02:00:00:00:00:01,02:00:00:00:00:02'),
          kv('ipallocRange', '10.40.0.0/16'),
          kv('ipallocDefaultSubnet', '10.40.1.0/24'),
        ].join('\0'),
      ),
      utf8(
        [
          'host.example',
          kv('metricsAddr', 'off'),
          kv('mtu', '1400'),
          kv('connLimit', '30'),
          kv('name', '02:00:00:00:00:09'),
          kv('dataDir', 'rel/dir'),
        ].join('\0'),
      ),
      utf8(
        [
          '',
          kv('ipallocInit', 'consensus=3'),
          kv('logLevel', 'debug'),
          kv('nickname', 'h1'),
          kv('host', '198.18.0.1'),
        ].join('\0'),
      ),
    ];
  },
  run(data) {
    const [peerText = '', ...pairs] = Buffer.from(data).toString('utf8').split('\0');
    const flags: Record<string, string> = {};
    for (const p of pairs) {
      const k = KEYS[(p.codePointAt(0) ?? 0) % KEYS.length]!;
      flags[k] = p.slice(String.fromCodePoint(p.codePointAt(0) ?? 0).length);
    }
    const peers = peerText.split(' ').filter((p) => p !== '');
    // Marked so that it cannot coincide with the fixed text of an error message.
    if (flags.password !== undefined && flags.password !== '') flags.password = `⟪${flags.password}⟫`;
    const password = flags.password;
    for (const attempt of [
      () => parseRouterConfig(flags as RouterFlags, peers, {}, { hostname: 'fuzz-host', cwd: '/tmp' }),
      () => parseIpallocFlags(flags, {}, peers.length),
    ]) {
      try {
        const cfg = attempt();
        if ('password' in cfg)
          check(cfg.password === (password === '' ? undefined : password), 'password changed');
      } catch (e) {
        check(isWeftError(e) && e.httpStatus === 400, `threw ${(e as Error).name}: ${(e as Error).message}`);
        check(!e.message.includes('\n'), 'a multi-line error message');
        // An error may echo the value it refuses; it must not echo the password from elsewhere.
        const elsewhere = [
          peerText,
          ...Object.entries(flags)
            .filter(([k]) => k !== 'password')
            .map(([, v]) => v),
        ];
        if (password && !elsewhere.some((v) => v.includes(password)))
          check(!e.message.includes(password), 'an error message repeats the password');
      }
    }
  },
};
