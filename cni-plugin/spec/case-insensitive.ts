/**
 * Go decodes JSON object keys case-insensitively, so containerd sends
 * runtimeConfig entries as `HostPort`, `IngressRate`, `Servers` while podman
 * and CRI-O send `hostPort`, `ingressRate`, `servers`. We look keys up the
 * same way (exact match first, as Go does).
 */
export function getCi(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  if (Object.hasOwn(o, key)) return o[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}
