/**
 * What the API needs from the mesh: a report, and the two target operations.
 * The daemon implements it over the mesh core; tests use a small fake.
 * Addresses passed in are already validated and normalised ("host:port").
 */
import type { RouterReport } from './report.js';

export interface MeshControl {
  report(): RouterReport;
  /** Add targets to connect to; with `replace`, they become the only command-line/API targets. */
  connect(addresses: string[], opts: { replace: boolean }): void;
  /** Stop trying to connect to these targets (existing connections stay up, as in Weave). */
  forget(addresses: string[]): void;
  /** The direct targets (command line + /connect − /forget), as "host:port". */
  directTargets(): string[];
}
