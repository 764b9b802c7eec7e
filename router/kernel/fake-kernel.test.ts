import { describe, expect, it } from 'vitest';
import { FakeKernelWorld } from './fake-kernel.js';
import { errnoOf } from './kernel-errors.js';
import { describeKernelNetCompliance } from './kernel-net.compliance.js';

describeKernelNetCompliance('in-memory fake', async () => {
  const world = new FakeKernelWorld();
  const a = world.createNamespace('a');
  const b = world.createNamespace('b');
  return { a: a.kernel, b: b.kernel, bRef: b.ref, cleanup: async () => {} };
});

describe('FakeKernelWorld extras for callers’ tests', () => {
  it('records every call with its namespace, in order', async () => {
    const world = new FakeKernelWorld();
    const { kernel } = world.createNamespace('host');
    await kernel.createBridge('weft');
    await kernel.getLink('weft');
    expect(world.calls.map((c) => `${c.ns}:${c.method}`)).toEqual(['host:createBridge', 'host:getLink']);
  });

  it('failNext makes exactly the next call of that method fail with the errno', async () => {
    const world = new FakeKernelWorld();
    const { kernel } = world.createNamespace('host');
    world.failNext('createBridge', 'ENOMEM');
    await expect(kernel.createBridge('weft')).rejects.toSatisfy((e) => errnoOf(e) === 'ENOMEM');
    await expect(kernel.createBridge('weft')).resolves.toMatchObject({ name: 'weft' });
  });

  it('returns copies: mutating a result does not change the kernel', async () => {
    const world = new FakeKernelWorld();
    const { kernel } = world.createNamespace('host');
    const br = await kernel.createBridge('weft');
    br.mtu = 9000;
    expect((await kernel.getLink('weft'))!.mtu).toBe(1500);
  });
});
