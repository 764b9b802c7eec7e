/**
 * The mesh's metrics source, read from the same report that `/report` serves
 * (MeshControl.report()), so metrics and `weft status` can never disagree.
 */
import type { MeshReport } from '../mesh/report.js';
import { oncePerScrape } from './pulled.js';
import type { ConnectionMetricState, ConnectionSample, MeshMetricsSource } from './sources.js';

/** Mesh connection states (router/mesh/report.ts) as Weave's metric states. */
export function connectionMetricState(state: string): ConnectionMetricState {
  if (state === 'established') return 'established';
  if (state === 'dialing') return 'connecting';
  return 'pending';
}

/** Connections (live or being made) and targets without one (retrying / failed). */
export function connectionSamples(report: MeshReport): ConnectionSample[] {
  const out: ConnectionSample[] = [];
  for (const c of report.connections) {
    const path = c.overlay?.path;
    out.push({
      state: connectionMetricState(c.state),
      type: path === undefined ? 'none' : path,
      // What matters to the user is whether container data is sealed: the
      // overlay's flag when a data path exists, else the mesh connection's.
      encrypted: c.overlay ? c.overlay.encrypted : c.encrypted,
    });
  }
  for (const t of report.targets) {
    if (t.state === 'waiting') out.push({ state: 'retrying', type: 'none', encrypted: report.encryption });
    else if (t.state === 'failed') out.push({ state: 'failed', type: 'none', encrypted: report.encryption });
  }
  return out;
}

export function meshMetricsSource(mesh: { report(): MeshReport }): MeshMetricsSource {
  const report = oncePerScrape(() => mesh.report());
  return {
    connections: () => connectionSamples(report()),
    terminations: () => report().terminations,
    peers: () => report().peers.length,
  };
}
