/**
 * The one logger type the cores know: a subset of pino's API, so the daemon can
 * pass a pino instance and tests a recorder. Only the daemon and the CLI create
 * pino. Never put secrets (passwords, keys) in fields or messages.
 */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const noop = () => {};
export const nullLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => nullLogger,
};

export interface LogRecord {
  level: LogLevel;
  msg: string | undefined;
  fields: Record<string, unknown>;
}

/** Keeps every record in memory; tests assert on what was logged. */
export class RecordingLogger implements Logger {
  constructor(
    readonly records: LogRecord[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}
  private add(level: LogLevel, obj: object, msg?: string) {
    this.records.push({ level, msg, fields: { ...this.bindings, ...obj } });
  }
  trace(obj: object, msg?: string) {
    this.add('trace', obj, msg);
  }
  debug(obj: object, msg?: string) {
    this.add('debug', obj, msg);
  }
  info(obj: object, msg?: string) {
    this.add('info', obj, msg);
  }
  warn(obj: object, msg?: string) {
    this.add('warn', obj, msg);
  }
  error(obj: object, msg?: string) {
    this.add('error', obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.records, { ...this.bindings, ...bindings });
  }
}
