/**
 * Mesh metrics, after Weave's `weave_connections{state,type,encryption}` and
 * `weave_connection_terminations_total`, plus the size of the topology.
 */
import type { Registry } from 'prom-client';
import { type LabelledValue, type PullErrorHandler, pulledCounter, pulledGauge } from './pulled.js';
import type { MeshMetricsSource } from './sources.js';

export const MESH_METRIC_NAMES = {
  connections: 'weft_connections',
  terminations: 'weft_connection_terminations_total',
  peers: 'weft_peers',
} as const;

/** Label value of the `encryption` label. */
export function encryptionLabel(encrypted: boolean): 'enabled' | 'disabled' {
  return encrypted ? 'enabled' : 'disabled';
}

export function registerMeshMetrics(
  registry: Registry,
  source: MeshMetricsSource,
  onError: PullErrorHandler,
): void {
  pulledGauge(registry, {
    name: MESH_METRIC_NAMES.connections,
    help: 'Number of peer-to-peer connections and connection attempts, by state, overlay type and encryption.',
    labelNames: ['state', 'type', 'encryption'],
    read: (): LabelledValue[] =>
      source.connections().map((c) => ({
        labels: { state: c.state, type: c.type, encryption: encryptionLabel(c.encrypted) },
        value: 1,
      })),
    onError,
  });
  pulledCounter(registry, {
    name: MESH_METRIC_NAMES.terminations,
    help: 'Number of peer-to-peer connections that ended since the router started.',
    read: () => [{ labels: {}, value: source.terminations() }],
    onError,
  });
  pulledGauge(registry, {
    name: MESH_METRIC_NAMES.peers,
    help: 'Number of peers in the topology, this router included.',
    read: () => [{ labels: {}, value: source.peers() }],
    onError,
  });
}
