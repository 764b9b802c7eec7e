/**
 * The machine's stable id, the seed of the default peer name. systemd's
 * /etc/machine-id first, D-Bus's copy second; undefined when neither exists
 * (containers often have none), in which case the name is random but
 * persisted.
 */
import { readFileSync } from 'node:fs';

export const MACHINE_ID_PATHS = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

export function readMachineId(paths: readonly string[] = MACHINE_ID_PATHS): string | undefined {
  for (const p of paths) {
    try {
      const id = readFileSync(p, 'utf8').trim();
      if (id) return id;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}
