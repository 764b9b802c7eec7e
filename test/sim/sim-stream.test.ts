/** The simulator's transport passes the stream compliance suite (as TCP does). */
import { ManualClock } from '../../common/clock.js';
import { SeededRandom } from '../../common/random.js';
import { runStreamCompliance } from '../compliance/stream.js';
import { EventQueue } from './event-queue.js';
import { SimNetwork } from './network.js';

runStreamCompliance('simulator', async () => {
  const clock = new ManualClock(0);
  const queue = new EventQueue();
  const net = new SimNetwork(
    clock,
    queue,
    new SeededRandom(5),
    { latencyMs: 2, jitterMs: 3, dialTimeoutMs: 10_000 },
    () => {},
  );
  net.addHost('198.18.0.1');
  net.addHost('198.18.0.2');
  net.addHost('198.18.0.3');
  // 198.18.0.3 is cut off from everyone: dials there time out.
  net.partition([['198.18.0.1', '198.18.0.2'], ['198.18.0.3']]);
  let port = 7000;
  return {
    transport: net.transport('198.18.0.1'),
    listenAddress: () => `198.18.0.1:${port++}`,
    refusedAddress: '198.18.0.2:9',
    blackholeAddress: '198.18.0.3:6783',
    waitFor: async (cond, timeoutMs) => {
      const end = clock.now() + timeoutMs;
      for (;;) {
        // Let promise continuations run before looking.
        await new Promise<void>((r) => setImmediate(r));
        if (cond()) return;
        const e = queue.peek();
        if (!e || e.at > end) {
          if (clock.now() < end) {
            clock.set(end);
            continue;
          }
          throw new Error(`waitFor: not true within ${timeoutMs} virtual ms`);
        }
        queue.pop();
        if (e.at > clock.now()) clock.set(e.at);
        e.fn();
      }
    },
    teardown: async () => {},
  };
});
