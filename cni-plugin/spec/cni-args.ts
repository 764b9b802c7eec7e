/**
 * CNI_ARGS: "K1=V1;K2=V2". Parsed the way libcni's LoadArgs does it, because
 * runtimes were written against that: split on ';', every pair must split on
 * '=' into exactly two parts, keys are case-sensitive, and a key the plugin
 * does not know is an error unless IgnoreUnknown is "1" or "true" (any case).
 */
import { CniCode, CniError } from './errors.js';

export interface CniArgs {
  /** Known keys with their values, in input order. */
  readonly known: ReadonlyMap<string, string>;
  /** Pairs with keys we do not know (kept for logs). */
  readonly unknown: readonly string[];
  readonly ignoreUnknown: boolean;
}

/** Keys every plugin of ours accepts (runtimes send them whatever the plugin). */
export const COMMON_ARG_KEYS = [
  'IgnoreUnknown',
  'IP',
  'MAC',
  'K8S_POD_NAMESPACE',
  'K8S_POD_NAME',
  'K8S_POD_INFRA_CONTAINER_ID',
  'K8S_POD_UID',
] as const;

function parseBool(key: string, v: string): boolean {
  const l = v.toLowerCase();
  if (l === '1' || l === 'true') return true;
  if (l === '0' || l === 'false') return false;
  throw new CniError(
    CniCode.INVALID_ENVIRONMENT,
    `CNI_ARGS: ${key} must be 1, 0, true or false, not ${JSON.stringify(v)}`,
  );
}

export function parseCniArgs(
  raw: string | undefined,
  knownKeys: readonly string[] = COMMON_ARG_KEYS,
): CniArgs {
  const known = new Map<string, string>();
  const unknown: string[] = [];
  let ignoreUnknown = false;
  if (raw === undefined || raw === '') return { known, unknown, ignoreUnknown };
  for (const pair of raw.split(';')) {
    const kv = pair.split('=');
    if (kv.length !== 2)
      throw new CniError(CniCode.INVALID_ENVIRONMENT, `CNI_ARGS: invalid pair ${JSON.stringify(pair)}`);
    const [key, value] = kv as [string, string];
    if (!knownKeys.includes(key)) {
      unknown.push(pair);
      continue;
    }
    if (key === 'IgnoreUnknown') ignoreUnknown = parseBool(key, value);
    known.set(key, value);
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(
      CniCode.INVALID_ENVIRONMENT,
      `CNI_ARGS: unknown args ${JSON.stringify(unknown)}`,
      'set IgnoreUnknown=1 to pass keys this plugin does not use',
    );
  }
  return { known, unknown, ignoreUnknown };
}
