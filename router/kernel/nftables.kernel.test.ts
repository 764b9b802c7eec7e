/**
 * nftables tables in lab namespaces through the `nft` program, applied from
 * this process without `ip netns exec`:
 *
 *   h1 (198.18.0.1) ── underlay bridge ── h2 (198.18.0.2)
 *   table inet weft_test in h1 drops h1 → h2: ping stops; deleting it restores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../test/netns/lab.js';
import { errnoOf, isNotFound } from './kernel-errors.js';
import { Netns } from './netns.js';
import { Nftables } from './nftables.js';

const T = 'weft_test';
const dropTo = (ip: string) =>
  `  chain out {\n    type filter hook output priority 0; policy accept;\n    ip daddr ${ip} counter drop\n  }`;

describe('nftables adapter', () => {
  let lab: Lab;
  let h1: Netns;
  let nft: Nftables;
  const ping = async () =>
    (await lab.exec(lab.host(1).ns, 'ping', ['-c', '1', '-W', '1', lab.host(2).ip])).code === 0;

  beforeAll(async () => {
    lab = await Lab.create(2);
    h1 = Netns.open(lab.host(1).ns);
    nft = new Nftables({ netns: h1 });
  });
  afterAll(async () => {
    h1?.close();
    await lab?.cleanup();
  });

  it('applies a table in the namespace, and it takes effect there', async () => {
    expect(await ping()).toBe(true);
    await nft.applyTable('inet', T, dropTo(lab.host(2).ip));
    expect(await ping()).toBe(false);
    // Only h1 has it: h2 and this process's namespace do not.
    expect(await lab.mustExec(lab.host(2).ns, 'nft', ['list', 'tables'])).not.toContain(T);
    expect(await new Nftables().listTable('inet', T)).toBeUndefined();
  });

  it('lists the table as JSON objects, with the counter that saw the dropped packets', async () => {
    const objs = await nft.listTable('inet', T);
    expect(objs?.some((o) => o.table?.name === T)).toBe(true);
    expect(objs?.some((o) => o.chain?.name === 'out' && o.chain?.hook === 'output')).toBe(true);
    const rule = objs?.find((o) => o.rule)?.rule as { expr: { counter?: { packets: number } }[] } | undefined;
    const counter = rule?.expr.find((e) => e.counter)?.counter;
    expect(counter?.packets).toBeGreaterThan(0);
  });

  it('replaces the table atomically: a failing ruleset leaves the previous one in place', async () => {
    await nft.applyTable('inet', T, dropTo('198.18.0.99'));
    expect(await ping()).toBe(true);
    let caught: unknown;
    try {
      await nft.applyTable('inet', T, `${dropTo(lab.host(2).ip)}\n  chain broken { this is not nft; }`);
    } catch (e) {
      caught = e;
    }
    expect(errnoOf(caught)).toBe('EINVAL');
    expect((caught as { details?: { stderr?: string } }).details?.stderr).toMatch(/rror/);
    // Still the previous table: h2 reachable, the drop rule for .99 present.
    expect(await ping()).toBe(true);
    expect(JSON.stringify(await nft.listTable('inet', T))).toContain('198.18.0.99');
  });

  it('deletes the table; deleting a missing one is not-found unless missingOk', async () => {
    await nft.applyTable('inet', T, dropTo(lab.host(2).ip));
    expect(await ping()).toBe(false);
    expect(await nft.deleteTable('inet', T)).toBe(true);
    expect(await ping()).toBe(true);
    expect(await nft.listTable('inet', T)).toBeUndefined();
    let caught: unknown;
    try {
      await nft.deleteTable('inet', T);
    } catch (e) {
      caught = e;
    }
    expect(isNotFound(caught)).toBe(true);
    expect(await nft.deleteTable('inet', T, { missingOk: true })).toBe(false);
  });

  it('a missing nft program is a clear KERNEL_ERROR', async () => {
    const none = new Nftables({ netns: h1, nft: '/nonexistent/nft' });
    await expect(none.listTable('inet', T)).rejects.toSatisfy((e) => errnoOf(e) === 'ENOENT');
  });
});
