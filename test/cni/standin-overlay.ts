/**
 * A stand-in for weft's data plane in CNI tests that run without routers: a
 * kernel VXLAN device on each host's `weft` bridge, flooding to every other
 * host's underlay address (MACs learnt as usual). It carries frames between
 * the bridges the way fastdp does, with none of its control logic — enough to
 * show that containers the plugin attached on different hosts reach each other.
 */
import type { Host, Lab } from '../netns/lab.js';

export const STANDIN_VNI = 4242;
export const STANDIN_PORT = 4789;

export async function connectBridges(lab: Lab, hosts: Host[], bridge = 'weft'): Promise<void> {
  for (const h of hosts) {
    await lab.ipIn(h.ns, [
      'link',
      'add',
      'wftvx0',
      'type',
      'vxlan',
      'id',
      String(STANDIN_VNI),
      'dstport',
      String(STANDIN_PORT),
      'local',
      h.ip,
      'dev',
      'eth0',
    ]);
    await lab.ipIn(h.ns, ['link', 'set', 'wftvx0', 'master', bridge, 'up']);
    for (const other of hosts)
      if (other !== h)
        await lab.mustExec(h.ns, 'bridge', [
          'fdb',
          'append',
          '00:00:00:00:00:00',
          'dev',
          'wftvx0',
          'dst',
          other.ip,
        ]);
  }
}
