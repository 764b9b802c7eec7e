import { Command } from 'commander';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addRouterOptions, ROUTER_OPTIONS, type RouterCommandFlags, routerArgs } from './router-options.js';

/** What commander hands the action for `weft router <argv>`. */
function parse(argv: string[]): RouterCommandFlags {
  let got: RouterCommandFlags | undefined;
  const program = new Command().exitOverride();
  addRouterOptions(program.command('router').argument('[peers...]')).action((_p, flags) => {
    got = flags;
  });
  program.parse(['router', ...argv], { from: 'user' });
  return got!;
}

// Option values as a user could type them (anything but a leading '-', which commander reads as a flag).
const value = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.startsWith('-'));
const flagsArb: fc.Arbitrary<RouterCommandFlags> = fc.record(
  Object.fromEntries(ROUTER_OPTIONS.map((o) => [o.key, o.negated ? fc.boolean() : value])) as Record<
    keyof RouterCommandFlags,
    fc.Arbitrary<string | boolean>
  >,
  { requiredKeys: [] },
) as fc.Arbitrary<RouterCommandFlags>;

describe('router flags for weft launch', () => {
  it('routerArgs(flags) parses back to the same flags (negated flags default to true)', () => {
    fc.assert(
      fc.property(flagsArb, (flags) => {
        const expected = { discovery: true, fastdp: true, ...flags };
        expect(parse(routerArgs(flags))).toEqual(expected);
      }),
    );
  });

  it('leaves out what launch hands over otherwise (the password) and replaces the data dir with an absolute one', () => {
    const args = routerArgs(
      { password: 's3cret', dataDir: 'rel', nickname: 'h1', fastdp: false, discovery: true },
      { override: { dataDir: '/var/lib/weft' }, omit: ['password'] },
    );
    expect(args).toEqual(['--nickname', 'h1', '--data-dir', '/var/lib/weft', '--no-fastdp']);
  });

  it('declares every flag weft router documents', () => {
    const help = addRouterOptions(new Command('router')).helpInformation();
    for (const f of [
      '--name',
      '--nickname',
      '--port',
      '--host',
      '--http-addr',
      '--metrics-addr',
      '--data-dir',
    ]) {
      expect(help).toContain(f);
    }
    for (const f of ['--password', '--conn-limit', '--no-discovery', '--log-level', '--no-fastdp', '--mtu']) {
      expect(help).toContain(f);
    }
    for (const f of ['--ipalloc-range', '--ipalloc-init', '--ipalloc-default-subnet'])
      expect(help).toContain(f);
  });
});
