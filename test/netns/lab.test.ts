import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, sh } from './lab.js';

// The lab harness itself: hosts reach each other over the underlay, a block
// stops exactly that pair, and cleanup leaves no namespace behind.
describe('netns lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create(3);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('hosts reach each other over the underlay', async () => {
    const r = await lab.exec(lab.host(1).ns, 'ping', ['-c1', '-W2', lab.host(3).ip]);
    expect(r.code).toBe(0);
  });

  it('block() drops traffic between one pair only, unblock() restores it', async () => {
    await lab.block(lab.host(1), lab.host(3));
    expect((await lab.exec(lab.host(1).ns, 'ping', ['-c1', '-W1', lab.host(3).ip])).code).not.toBe(0);
    expect((await lab.exec(lab.host(1).ns, 'ping', ['-c1', '-W1', lab.host(2).ip])).code).toBe(0);
    await lab.unblock(lab.host(1), lab.host(3));
    expect((await lab.exec(lab.host(1).ns, 'ping', ['-c1', '-W2', lab.host(3).ip])).code).toBe(0);
  });

  it('cleanup kills spawned processes and removes every namespace', async () => {
    const extra = await Lab.create(1);
    const p = extra.spawn(extra.host(1).ns, 'sleep', ['60']);
    await new Promise((r) => setTimeout(r, 100));
    const pid = p.pid!;
    await extra.cleanup();
    expect(() => process.kill(pid, 0)).toThrow();
    const list = await sh('ip', ['netns', 'list']);
    expect(list.stdout).not.toContain(extra.id);
  });
});
