/** `weft setup-cni` (setupCni): launchers, the conflist, and that the installed plugins run. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONFLIST_NAME,
  conflistFor,
  launcherScript,
  setupCni,
  WEFT_CONFLIST,
} from '../../cni-plugin/setup.js';
import { SUPPORTED_VERSIONS } from '../../cni-plugin/spec/version.js';
import { buildTestPlugins, REPO, type TestPlugins } from './bundles.js';

let plugins: TestPlugins;
let tmp: string;
beforeAll(() => {
  plugins = buildTestPlugins();
  tmp = mkdtempSync(join(tmpdir(), 'weft-setup-cni-'));
});
afterAll(() => {
  plugins.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

describe('setupCni', () => {
  it('installs both plugins as executables and the conflist, leaving no temporary files', () => {
    const binDir = join(tmp, 'opt/cni/bin');
    const confDir = join(tmp, 'etc/cni/net.d');
    const r = setupCni({ binDir, confDir, bundleDir: plugins.bundleDir });
    expect(r.written).toStrictEqual([
      join(binDir, 'weft-net'),
      join(binDir, 'weft-ipam'),
      join(confDir, CONFLIST_NAME),
    ]);
    for (const p of ['weft-net', 'weft-ipam']) expect(statSync(join(binDir, p)).mode & 0o777).toBe(0o755);
    expect(readdirSync(binDir).sort()).toStrictEqual(['weft-ipam', 'weft-net']);
    expect(JSON.parse(readFileSync(join(confDir, CONFLIST_NAME), 'utf8'))).toStrictEqual(WEFT_CONFLIST);
  });

  it('is idempotent (run twice, same files)', () => {
    const binDir = join(tmp, 'again/bin');
    const confDir = join(tmp, 'again/conf');
    setupCni({ binDir, confDir, bundleDir: plugins.bundleDir });
    const first = readFileSync(join(binDir, 'weft-net'), 'utf8');
    setupCni({ binDir, confDir, bundleDir: plugins.bundleDir });
    expect(readFileSync(join(binDir, 'weft-net'), 'utf8')).toBe(first);
    expect(readdirSync(confDir)).toStrictEqual([CONFLIST_NAME]);
  });

  it('the shipped deploy/10-weft.conflist is the document setup-cni writes: weft-net then portmap with portMappings', () => {
    const shipped = JSON.parse(readFileSync(join(REPO, 'deploy', CONFLIST_NAME), 'utf8'));
    expect(shipped).toStrictEqual(WEFT_CONFLIST);
    expect(shipped.plugins.map((p: { type: string }) => p.type)).toStrictEqual(['weft-net', 'portmap']);
    expect(shipped.plugins[1].capabilities).toStrictEqual({ portMappings: true });
  });

  it("--router changes only weft-net's router address", () => {
    const doc = conflistFor({ router: '127.0.0.1:7784' }) as typeof WEFT_CONFLIST;
    expect(doc.plugins[0].router).toBe('127.0.0.1:7784');
    expect(WEFT_CONFLIST.plugins[0].router).toBe('127.0.0.1:6784');
  });

  it('a missing bundle is a clear error', () => {
    expect(() =>
      setupCni({ binDir: join(tmp, 'x'), bundleDir: join(tmp, 'nope'), skipConflist: true }),
    ).toThrow(/npm run build/);
  });

  it("launchers quote paths (a ' in a path survives)", () => {
    expect(launcherScript('weft-net', "/o'dd/node", '/b.mjs')).toContain(`exec '/o'\\''dd/node' '/b.mjs'`);
  });

  it.each(['weft-net', 'weft-ipam'])(
    'the installed %s answers VERSION with an empty environment but CNI_COMMAND',
    (p) => {
      const r = spawnSync(join(plugins.binDir, p), [], {
        env: { CNI_COMMAND: 'VERSION' },
        input: '',
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toStrictEqual({
        cniVersion: '1.1.0',
        supportedVersions: [...SUPPORTED_VERSIONS],
      });
      expect(r.stderr).toBe('');
    },
  );

  it('an installed plugin prints an error document and exits non-zero on a bad call', () => {
    const r = spawnSync(join(plugins.binDir, 'weft-net'), [], {
      env: { CNI_COMMAND: 'ADD', CNI_PATH: plugins.cniPath },
      input: '{}',
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 4 });
  });
});
