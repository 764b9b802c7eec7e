/**
 * withNetns on the real kernel: the callback runs in the target namespace, the
 * thread always comes back (also on throw, nested, or when handed an async
 * function), and only the calling thread moves.
 */
import { spawn } from 'node:child_process';
import { fstatSync, readFileSync, readlinkSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWeftError } from '../../common/errors.js';
import { Lab } from '../../test/netns/lab.js';
import { isNotFound } from './kernel-errors.js';
import { Netns, withNetns } from './netns.js';

/** "net:[4026532281]" of the calling thread. */
const here = () => readlinkSync('/proc/thread-self/ns/net');
const idOf = (ns: Netns) => `net:[${fstatSync(ns.fd).ino}]`;

describe('withNetns', () => {
  let lab: Lab;
  let a: Netns;
  let b: Netns;
  let home: string;

  beforeAll(async () => {
    lab = await Lab.create(0);
    a = Netns.open(await lab.addNamespace('a'));
    b = Netns.open(await lab.addNamespace('b'));
    home = here();
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await lab?.cleanup();
  });

  it('runs the callback inside the namespace and returns its value', () => {
    expect(idOf(a)).not.toBe(home);
    const inside = withNetns(a, () => here());
    expect(inside).toBe(idOf(a));
    expect(here()).toBe(home);
  });

  it('returns to the original namespace when the callback throws', () => {
    expect(() =>
      withNetns(a, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(here()).toBe(home);
  });

  it('nested calls return to the enclosing namespace, then home', () => {
    const seen = withNetns(a, () => {
      const inner = withNetns(b, () => here());
      return [inner, here()];
    });
    expect(seen).toEqual([idOf(b), idOf(a)]);
    expect(here()).toBe(home);
  });

  it('refuses an async callback (its continuation would run outside) and still returns home', async () => {
    let caught: unknown;
    try {
      withNetns(a, async () => {});
    } catch (e) {
      caught = e;
    }
    expect(isWeftError(caught) && caught.code).toBe('INTERNAL');
    expect(here()).toBe(home);
  });

  it('moves only the calling thread: thread-pool work started inside stays home', async () => {
    let pending: Promise<string> | undefined;
    withNetns(a, () => {
      pending = readlink('/proc/thread-self/ns/net');
    });
    expect(await pending).toBe(home);
  });

  it('a child process spawned inside runs in the namespace', async () => {
    const child = withNetns(a, () =>
      spawn('readlink', ['/proc/self/ns/net'], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    await new Promise((r) => child.once('exit', r));
    expect(out.trim()).toBe(idOf(a));
  });

  it('synchronous /proc/sys reads inside see the namespace’s sysctls', async () => {
    await lab.mustExec(`${lab.id}-a`, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await lab.mustExec(`${lab.id}-b`, 'sysctl', ['-qw', 'net.ipv4.ip_forward=0']);
    expect(withNetns(a, () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim())).toBe('1');
    expect(withNetns(b, () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim())).toBe('0');
  });
});

describe('Netns handles', () => {
  it('a missing namespace is a not-found KERNEL_ERROR', () => {
    let caught: unknown;
    try {
      Netns.open('weft-no-such-namespace');
    } catch (e) {
      caught = e;
    }
    expect(isWeftError(caught) && caught.code).toBe('KERNEL_ERROR');
    expect(isNotFound(caught)).toBe(true);
  });

  it('opens by PID and the current thread to the same namespace; close is idempotent', () => {
    const byPid = Netns.ofPid(process.pid);
    const current = Netns.current();
    expect(idOf(byPid)).toBe(idOf(current));
    expect(idOf(current)).toBe(here());
    byPid.close();
    byPid.close();
    expect(byPid.isOpen).toBe(false);
    current.close();
  });
});
