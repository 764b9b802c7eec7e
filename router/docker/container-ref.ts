/**
 * What users may pass as a Docker container: a name (as `docker run --name`
 * accepts it, optionally with Docker's leading "/") or an id / unique id
 * prefix. Checked before it goes into a URL path.
 */
import { WeftError } from '../../common/errors.js';

// Docker's own rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (ids are hex, so they pass too).
const CONTAINER_REF = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

export function mustParseContainerRef(ref: string): string {
  const t = ref.trim();
  if (!CONTAINER_REF.test(t)) {
    throw new WeftError(
      'INVALID_CONTAINER_ID',
      `invalid Docker container name or id ${JSON.stringify(ref)}`,
      {
        container: ref,
      },
    );
  }
  return t.replace(/^\//, '');
}
