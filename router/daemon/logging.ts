/**
 * The daemon's pino logger: JSON lines on stdout (systemd, Kubernetes and the
 * tests read them), level from --log-level. Fields that could carry a secret
 * are censored whatever a caller passes, as a second line of defence: nothing
 * should log them in the first place.
 */
import { type DestinationStream, type Logger as Pino, pino } from 'pino';
import type { LogLevel } from '../../common/logger.js';

export const REDACTED_PATHS = [
  'password',
  '*.password',
  'psk',
  '*.psk',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'config.password',
  'req.headers.authorization',
];

export function createDaemonLogger(level: LogLevel, destination?: DestinationStream): Pino {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
