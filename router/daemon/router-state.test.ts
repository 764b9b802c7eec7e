import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonRouterState, ROUTER_STATE_FILE } from './router-state.js';
import { tempDirs } from './test-support.js';

const dirs = tempDirs('weft-rs-');
const tmp = dirs.make;
afterEach(dirs.removeAll);

describe('JsonRouterState', () => {
  it('starts empty and survives a reopen', () => {
    const d = tmp();
    const a = new JsonRouterState(d);
    expect(a.peerName()).toBeUndefined();
    expect(a.directPeers()).toEqual([]);
    a.setPeerName('02:00:00:00:00:01');
    a.setDirectPeers(['198.18.0.2:6783']);
    const b = new JsonRouterState(d);
    expect(b.peerName()).toBe('02:00:00:00:00:01');
    expect(b.directPeers()).toEqual(['198.18.0.2:6783']);
    expect(statSync(join(d, ROUTER_STATE_FILE)).mode & 0o777).toBe(0o600);
  });

  it('treats a corrupt or ill-typed file as empty instead of failing to start', () => {
    const d = tmp();
    writeFileSync(join(d, ROUTER_STATE_FILE), '{"peerName": ');
    expect(new JsonRouterState(d).peerName()).toBeUndefined();
    writeFileSync(join(d, ROUTER_STATE_FILE), '{"peerName": 5, "directPeers": ["a:1", 7]}');
    const s = new JsonRouterState(d);
    expect(s.peerName()).toBeUndefined();
    expect(s.directPeers()).toEqual(['a:1']);
  });
});
