/**
 * The plugins' logger: JSON lines to stderr or to `logFile`, never stdout
 * (stdout carries exactly one JSON document). pino costs start-up time on
 * every CNI call, so this is the smallest thing that implements the Logger
 * type the cores take. Writes are synchronous so nothing is lost at exit.
 */
import { appendFileSync, writeSync } from 'node:fs';
import type { Logger } from '../common/logger.js';
import type { LogLevel } from './config.js';

const RANK: Record<LogLevel | 'trace', number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

export interface LineLoggerOptions {
  level: LogLevel;
  /** Append here instead of writing to stderr. */
  file?: string;
  bindings?: Record<string, unknown>;
  /** For tests: where lines go (default: the file or fd 2). */
  sink?: (line: string) => void;
}

export function lineLogger(opts: LineLoggerOptions): Logger {
  const min = RANK[opts.level];
  const sink =
    opts.sink ??
    ((line: string) => {
      try {
        if (opts.file) appendFileSync(opts.file, line);
        else writeSync(2, line);
      } catch {
        /* a log that cannot be written must not fail the CNI call */
      }
    });
  const make = (bindings: Record<string, unknown>): Logger => {
    const emit = (level: keyof typeof RANK) => (obj: object, msg?: string) => {
      if (RANK[level] < min) return;
      sink(
        `${JSON.stringify({ time: new Date().toISOString(), level, ...bindings, ...obj, ...(msg ? { msg } : {}) })}\n`,
      );
    };
    return {
      trace: emit('trace'),
      debug: emit('debug'),
      info: emit('info'),
      warn: emit('warn'),
      error: emit('error'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make(opts.bindings ?? {});
}
