/**
 * Milliseconds since the process started, on a monotonic clock, for the
 * plugins' phase timings and deadlines. `performance.now()` would do the same
 * but its first use loads Node's perf_hooks (a dozen modules), which every
 * CNI call would pay; process.uptime() is always there.
 */
export const elapsedMs = (): number => process.uptime() * 1000;
