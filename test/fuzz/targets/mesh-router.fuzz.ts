import fc from 'fast-check';
import { SeededRandom } from '../../../common/random.js';
import type { MeshEffect } from '../../../router/mesh/effects.js';
import { MeshRouter } from '../../../router/mesh/router.js';
import { arbRecord } from '../../../router/wire/arbitraries.js';
import { encodeFrame } from '../../../router/wire/framing.js';
import { encodeIntro } from '../../../router/wire/intro.js';
import { encodeMessage, type Message } from '../../../router/wire/messages.js';
import { MessageTag } from '../../../router/wire/tags.js';
import { encodeTopologyMessage } from '../../../router/wire/topology.js';
import { hello } from '../support/mesh-fixtures.js';
import { arbitrarySample } from '../support/samples.js';
import { check, type FuzzTarget } from './target.js';

const US = '02:00:00:00:00:01';
const PEER = '02:00:00:00:00:02';
const PREFIX = Uint8Array.from([
  ...encodeIntro({ minVersion: 1, maxVersion: 1, encryption: false }),
  ...encodeFrame(encodeMessage({ tag: MessageTag.Hello, hello: hello(PEER) })),
]);

/**
 * A whole router core (no password) after a peer's hello: everything an
 * accepted peer can send — topology gossip (update, digest, answer),
 * unicast and broadcast channel messages, overlay control — goes through the
 * real gossip hub, topology CRDT merge, routes and relays; then every timer
 * the router set fires once (settle, relays, periodic gossip). Input: frames
 * after the intro and hello. Oracle: no throw, our own record survives, the
 * report and digest are computable.
 */
export const target: FuzzTarget = {
  name: 'mesh-router',
  decoder: 'router/mesh/router.ts + gossip-hub.ts + topology(-gossip).ts on hostile post-hello messages',
  maxLen: 8192,
  seeds: () => {
    const frames = (ms: Message[]) => Uint8Array.from(ms.flatMap((m) => [...encodeFrame(encodeMessage(m))]));
    const recs = arbitrarySample(fc.array(arbRecord, { minLength: 1, maxLength: 3 }), 12);
    return [
      ...recs.map((r) =>
        frames([
          {
            tag: MessageTag.Gossip,
            channel: 'topology',
            payload: encodeTopologyMessage({ kind: 'update', records: r }),
          },
        ]),
      ),
      ...recs.slice(0, 4).map((r) =>
        frames([
          {
            tag: MessageTag.GossipBroadcast,
            channel: 'topology',
            src: r[0]!.name,
            incarnation: 7,
            seq: 1,
            payload: encodeTopologyMessage({ kind: 'answer', records: r, digest: '1:a:b' }),
          },
          {
            tag: MessageTag.Gossip,
            channel: 'topology',
            payload: encodeTopologyMessage({ kind: 'digest', digest: '9:x:y' }),
          },
        ]),
      ),
      frames([
        {
          tag: MessageTag.GossipUnicast,
          channel: 'ipam',
          src: PEER,
          dst: US,
          payload: Uint8Array.of(1, 2, 3),
        },
        {
          tag: MessageTag.GossipUnicast,
          channel: 'x',
          src: PEER,
          dst: '02:00:00:00:00:03',
          payload: Uint8Array.of(1),
        },
        { tag: MessageTag.OverlayControl, payload: Uint8Array.of(1, 1, 0) },
        { tag: MessageTag.Heartbeat },
      ]),
    ];
  },
  run(data) {
    const timers = new Set<string>();
    const router = new MeshRouter({
      name: US,
      nickname: 'us',
      listenPort: 6783,
      clock: { now: () => 1_000_000 },
      random: new SeededRandom(5),
      effects: (e: MeshEffect) => {
        if (e.kind === 'set-timer') timers.add(e.key);
        else if (e.kind === 'cancel-timer') timers.delete(e.key);
      },
    });
    router.start();
    const id = router.newStreamId();
    router.streamAccepted(id, { remoteAddress: '198.18.0.2:40000', localAddress: '198.18.0.1:6783' });
    router.streamData(id, PREFIX);
    router.streamData(id, data);
    for (const k of [...timers]) router.timerFired(k);
    const report = router.report();
    check(
      report.peers.some((p) => p.name === US),
      'our own record is gone',
    );
    check(typeof router.topologyDigest() === 'string', 'no digest');
    JSON.stringify(report);
    router.shutdown();
  },
};
