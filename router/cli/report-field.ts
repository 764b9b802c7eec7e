/**
 * `weft report -f router.peers.0.nickname`: one field of the report, by a
 * dotted path (object keys and array indices). Weave took a Go template;
 * a path covers what scripts ask for without a template language.
 */
import { WeftError } from '../../common/errors.js';

export function reportField(report: unknown, path: string): unknown {
  if (path === '' || path === '.') return report;
  let value: unknown = report;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) {
      throw new WeftError(
        'NOT_FOUND',
        `report has no field ${JSON.stringify(path)} (no ${JSON.stringify(key)})`,
      );
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Strings print bare (for shell scripts), everything else as JSON. */
export function formatField(value: unknown): string {
  return typeof value === 'string' ? `${value}\n` : `${JSON.stringify(value, null, 2)}\n`;
}
