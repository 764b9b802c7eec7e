import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../common/logger.js';
import { createDaemonLogger } from './logging.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

describe('createDaemonLogger', () => {
  it('writes JSON lines with a textual level and honours the level', () => {
    const c = capture();
    const log = createDaemonLogger('info', c.stream);
    log.debug({ a: 1 }, 'hidden');
    log.info({ peer: 'x' }, 'shown');
    const lines = c.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'shown', peer: 'x' });
  });

  it('censors secret-looking fields, also in children, and is a common Logger', () => {
    const c = capture();
    const log: Logger = createDaemonLogger('trace', c.stream);
    log
      .child({ component: 'mesh' })
      .info({ password: 'hunter2', config: { password: 'hunter2' }, psk: 'k' }, 'x');
    const text = JSON.stringify(c.lines());
    expect(text).not.toContain('hunter2');
    expect(c.lines()[0]).toMatchObject({ component: 'mesh', password: '[redacted]', psk: '[redacted]' });
  });
});
