import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WeftError } from '../../common/errors.js';
import { lockDataDir, PID_FILE, prepareDataDir } from './data-dir.js';
import { tempDirs } from './test-support.js';

const dirs = tempDirs('weft-dd-');
const tmp = dirs.make;
afterEach(dirs.removeAll);

describe('prepareDataDir', () => {
  it('creates nested directories with mode 0700', () => {
    const d = join(tmp(), 'a', 'b');
    prepareDataDir(d);
    expect(statSync(d).mode & 0o777).toBe(0o700);
  });

  it('tightens an existing directory to 0700', () => {
    const d = tmp();
    chmodSync(d, 0o755);
    prepareDataDir(d);
    expect(statSync(d).mode & 0o777).toBe(0o700);
  });

  it('refuses a path that is a file', () => {
    const f = join(tmp(), 'f');
    writeFileSync(f, '');
    expect(() => prepareDataDir(f)).toThrow();
  });
});

describe('lockDataDir', () => {
  it('writes our pid and removes it on release', () => {
    const d = tmp();
    const release = lockDataDir(d, process.pid);
    expect(readFileSync(join(d, PID_FILE), 'utf8').trim()).toBe(String(process.pid));
    release();
    release();
    expect(() => statSync(join(d, PID_FILE))).toThrow();
  });

  it('refuses a data dir held by a live process', async () => {
    const d = tmp();
    const other = spawn('sleep', ['30']);
    try {
      writeFileSync(join(d, PID_FILE), `${other.pid}\n`);
      let e: unknown;
      try {
        lockDataDir(d, process.pid);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(WeftError);
      expect((e as WeftError).message).toContain(`pid ${other.pid}`);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a pid file left by a dead process', async () => {
    const d = tmp();
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(join(d, PID_FILE), `${dead.pid}\n`);
    const release = lockDataDir(d, process.pid);
    expect(readFileSync(join(d, PID_FILE), 'utf8').trim()).toBe(String(process.pid));
    release();
  });
});
