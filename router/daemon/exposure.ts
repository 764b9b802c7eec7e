/**
 * The HTTP API has no authentication: whoever reaches it controls the router
 * (connect, forget, rmpeer, expose — which programs nftables). It and the
 * metrics listen on loopback by default; binding them elsewhere is allowed
 * (some setups scrape metrics over the network) but must never go unnoticed,
 * so the daemon logs one warning per such listener at start.
 */

/** True for addresses only this host can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface Listener {
  what: 'api' | 'metrics';
  host: string;
  port: number;
}

/** One warning per listener reachable from other hosts (empty in the default configuration). */
export function exposureWarnings(listeners: readonly Listener[]): { address: string; message: string }[] {
  return listeners
    .filter((l) => !isLoopbackHost(l.host))
    .map((l) => ({
      address: `${l.host || '*'}:${l.port}`,
      message:
        l.what === 'api'
          ? 'the HTTP API listens beyond loopback and has no authentication: anyone who reaches it controls this router'
          : 'metrics listen beyond loopback: they reveal peer names, addresses and traffic counters to anyone who reaches them',
    }));
}
