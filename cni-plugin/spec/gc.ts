/**
 * GC's input: the attachments the runtime still considers valid. libcni sends
 * `cni.dev/valid-attachments` (and older builds `cni.dev/attachments`); `null`
 * is an empty list, and a missing key means nothing is valid any more.
 */
import { getCi } from './case-insensitive.js';
import { CniCode, CniError } from './errors.js';
import type { NetConf } from './netconf.js';

export interface Attachment {
  readonly containerId: string;
  readonly ifname: string;
}

export function validAttachments(conf: NetConf): Attachment[] {
  const key = Object.hasOwn(conf.raw, 'cni.dev/valid-attachments')
    ? 'cni.dev/valid-attachments'
    : 'cni.dev/attachments';
  const list = conf.raw[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new CniError(CniCode.INVALID_CONFIG, `"${key}" must be an array`);
  return list.map((a, i) => {
    const containerId = getCi(a, 'containerID');
    const ifname = getCi(a, 'ifname');
    if (typeof containerId !== 'string' || typeof ifname !== 'string')
      throw new CniError(CniCode.INVALID_CONFIG, `"${key}"[${i}] needs string containerID and ifname`);
    return { containerId, ifname };
  });
}

export function attachmentKey(a: Attachment): string {
  return `${a.containerId}\u0000${a.ifname}`;
}
