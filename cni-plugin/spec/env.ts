/**
 * The CNI_* environment: which variables each verb needs and how each is
 * validated. Mesos passes only the CNI variables and PATH, so nothing here
 * reads any other variable.
 */
import { CniCode, CniError } from './errors.js';
import { type CniCommand, isCniCommand } from './version.js';

export interface CniEnv {
  readonly command: CniCommand;
  readonly containerId: string;
  /** Empty when the runtime gave none (allowed for DEL). */
  readonly netns: string;
  readonly ifname: string;
  readonly args: string;
  /** CNI_PATH split into directories. */
  readonly path: readonly string[];
  /** CNI_NETNS_OVERRIDE=1: the runtime allows CNI_NETNS to be the plugin's own namespace. */
  readonly netnsOverride: boolean;
}

/** `about` when CNI_COMMAND is empty or unset: the plugin prints what it is and exits 0. */
export type EnvParse = { kind: 'about' } | { kind: 'run'; env: CniEnv };

type Var = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH';

/** Variables each verb cannot do without (CNI_ARGS is always optional). */
export const REQUIRED_VARS: Record<CniCommand, readonly Var[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

/** Container ids and network names: what libcni accepts. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Linux limits an interface name to IFNAMSIZ-1 = 15 bytes. */
export const MAX_IFNAME_BYTES = 15;

/** Why an interface name is unusable, or undefined when it is fine. */
export function ifnameProblem(name: string): string | undefined {
  if (name.length === 0) return 'interface name is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_IFNAME_BYTES)
    return `interface name is longer than ${MAX_IFNAME_BYTES} bytes`;
  if (name === '.' || name === '..') return 'interface name is . or ..';
  if (/[/:\s]/u.test(name)) return 'interface name contains / or : or whitespace';
  return undefined;
}

export function parseEnv(vars: Readonly<Record<string, string | undefined>>): EnvParse {
  const command = vars.CNI_COMMAND ?? '';
  if (command === '') return { kind: 'about' };
  if (!isCniCommand(command))
    throw new CniError(CniCode.INVALID_ENVIRONMENT, `unknown CNI_COMMAND: ${command}`);
  const missing = REQUIRED_VARS[command].filter((v) => !vars[v]);
  if (missing.length > 0)
    throw new CniError(CniCode.INVALID_ENVIRONMENT, `required env variables [${missing.join(',')}] missing`);
  const containerId = vars.CNI_CONTAINERID ?? '';
  const ifname = vars.CNI_IFNAME ?? '';
  if (containerId !== '' && !NAME_PATTERN.test(containerId))
    throw new CniError(CniCode.INVALID_ENVIRONMENT, 'invalid characters in CNI_CONTAINERID', containerId);
  if (REQUIRED_VARS[command].includes('CNI_IFNAME')) {
    const problem = ifnameProblem(ifname);
    if (problem) throw new CniError(CniCode.INVALID_ENVIRONMENT, `CNI_IFNAME: ${problem}`, ifname);
  }
  return {
    kind: 'run',
    env: {
      command,
      containerId,
      netns: vars.CNI_NETNS ?? '',
      ifname,
      args: vars.CNI_ARGS ?? '',
      path: (vars.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
      netnsOverride: vars.CNI_NETNS_OVERRIDE === '1' || vars.CNI_NETNS_OVERRIDE === 'true',
    },
  };
}
