/**
 * `weft ps`: one line per attachment, like `weave ps`:
 *
 *   weft:expose           4a:1f:08:…  10.32.0.1/12
 *   b07c0f15a8a0          6a:8b:33:…  10.32.0.2/12          (weft attach: Docker id, 12 digits)
 *   cni 3f2a…:eth0        f2:00:1e:…  10.40.0.1/12          (CNI: container id:ifname)
 *   -                     -           -                     wfc5d2e… on the bridge, no address
 *
 * A fourth column appears only for rows that are not simply attached.
 */
import type { AttachmentRow } from '../host/attachments.js';

function shortId(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

export function attachmentName(r: AttachmentRow): string {
  switch (r.kind) {
    case 'expose':
      return r.id;
    case 'attach':
      return shortId(r.container ?? r.id);
    case 'cni':
      return `${shortId(r.container ?? '?')}:${r.ifname ?? '?'}`;
    case 'other':
      return r.id;
    case 'unknown':
      return r.device ?? '-';
  }
}

const NOTE: Record<AttachmentRow['state'], string> = {
  attached: '',
  'no-device': 'no device on the bridge (container gone without detach/DEL?)',
  'no-address': 'on the bridge without an address from this router',
};

export function formatPs(rows: readonly AttachmentRow[]): string {
  const lines = rows.map((r) => [
    attachmentName(r),
    r.mac ?? '-',
    r.addresses.length > 0 ? r.addresses.join(' ') : '-',
    NOTE[r.state],
  ]);
  const w0 = Math.max(0, ...lines.map((l) => l[0]!.length));
  const w1 = Math.max(0, ...lines.map((l) => l[1]!.length));
  const w2 = Math.max(0, ...lines.map((l) => l[2]!.length));
  return lines
    .map(([a, b, c, d]) =>
      d
        ? `${a!.padEnd(w0)} ${b!.padEnd(w1)} ${c!.padEnd(w2)} ${d}`
        : `${a!.padEnd(w0)} ${b!.padEnd(w1)} ${c}`,
    )
    .map((l) => `${l.trimEnd()}\n`)
    .join('');
}
