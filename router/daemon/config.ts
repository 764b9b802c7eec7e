/**
 * What a running router is configured with. The daemon consumes it; the CLI
 * (router/cli/router-config.ts) builds and validates it from flags.
 */
import type { LogLevel } from '../../common/logger.js';
import { DEFAULT_MESH_PORT } from '../api/peer-address.js';

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export const ROUTER_DEFAULTS = {
  port: DEFAULT_MESH_PORT,
  httpAddr: '127.0.0.1:6784',
  metricsAddr: '127.0.0.1:6782',
  dataDir: '/var/lib/weft',
  connLimit: 200,
  logLevel: 'info' as LogLevel,
};

export interface RouterConfig {
  /** Explicit peer name, or undefined to use the stored/derived one. */
  name: string | undefined;
  nickname: string;
  /** Mesh TCP port. */
  port: number;
  /** Address to bind the mesh port to ("" = all). */
  host: string;
  /** HTTP API address. */
  http: { host: string; port: number };
  /** Prometheus /metrics address, or null when turned off (`--metrics-addr off`). */
  metrics: { host: string; port: number } | null;
  dataDir: string;
  /** Never logged, never reported. */
  password: string | undefined;
  connLimit: number;
  discovery: boolean;
  logLevel: LogLevel;
  /** Initial targets, normalised "host:port". */
  peers: string[];
  /** Data plane: false with --no-fastdp (absent = fastdp on). */
  fastdp?: boolean;
  /** Data plane: --mtu, the overlay MTU (absent = derived from the underlay MTU). */
  mtu?: number;
}
