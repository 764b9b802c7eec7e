/**
 * Traffic probes for the data-plane suites: packet captures that count what
 * arrived, echo replies per responder, and TCP transfers that report the
 * bytes received. All run inside the lab's namespaces.
 */
import type { ChildProcess } from 'node:child_process';
import type { Container } from './dataplane-topology.js';
import type { Lab } from './lab.js';

/** Start tcpdump in a namespace; resolves once it is listening. */
export async function startCapture(
  lab: Lab,
  ns: string,
  iface: string,
  args: string[],
): Promise<{ proc: ChildProcess; out: () => string }> {
  const proc = lab.spawn(ns, 'tcpdump', ['-i', iface, '-n', '-l', '-p', '--immediate-mode', ...args]);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString('latin1');
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tcpdump in ${ns} did not start`)), 10_000);
    proc.stderr?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`tcpdump in ${ns} exited ${code}`));
    });
  });
  return { proc, out: () => out };
}

/** Count packets matching `filter` on eth0 of each namespace while `action` runs. */
export async function captureCount(
  lab: Lab,
  namespaces: string[],
  filter: string,
  action: () => Promise<unknown>,
): Promise<number[]> {
  const caps = await Promise.all(namespaces.map((ns) => startCapture(lab, ns, 'eth0', [filter])));
  await action();
  await new Promise((r) => setTimeout(r, 500));
  for (const c of caps) await lab.kill(c.proc, 'SIGINT');
  return caps.map(
    (c) =>
      c
        .out()
        .split('\n')
        .filter((l) => l.trim()).length,
  );
}

/** Ping `dst` (broadcast/multicast allowed) for ~2 s; responder IP → the icmp_seq of every reply, in order. */
export async function echoReplies(
  lab: Lab,
  ns: string,
  dst: string,
  minSeqs: number,
): Promise<Map<string, number[]>> {
  const r = await lab.exec(
    ns,
    'ping',
    ['-b', '-I', 'eth0', '-i', '0.2', '-w', String(Math.ceil(minSeqs * 0.2) + 2), dst],
    {
      timeoutMs: 30_000,
    },
  );
  const replies = new Map<string, number[]>();
  for (const m of r.stdout.matchAll(/bytes from ([\d.]+): icmp_seq=(\d+)/g)) {
    const list = replies.get(m[1]!) ?? [];
    list.push(Number(m[2]));
    replies.set(m[1]!, list);
  }
  // Only the first `minSeqs` are compared: the last request may still be in flight at the deadline.
  for (const [ip, seqs] of replies)
    replies.set(
      ip,
      seqs.filter((s) => s <= minSeqs),
    );
  return replies;
}

const TCP_PORT = 5001;

/**
 * Send `bytes` of pseudo-random data over TCP from one container to another;
 * returns what the receiver got (byte count and SHA-256) and the sender's SHA-256.
 */
export async function tcpTransfer(lab: Lab, from: Container, to: Container, bytes: number): Promise<number> {
  const server = lab.spawn(to.ns, process.execPath, [
    '-e',
    `const h=require('crypto').createHash('sha256');let n=0;require('net').createServer(s=>{s.on('data',d=>{n+=d.length;h.update(d)});s.on('end',()=>{console.log(JSON.stringify({n,sha:h.digest('hex')}));process.exit(0)})}).listen(${TCP_PORT},()=>console.log('listening'))`,
  ]);
  try {
    let out = '';
    server.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes('listening'), 10_000);
    const r = await lab.exec(
      from.ns,
      process.execPath,
      [
        '-e',
        `const c=require('crypto');let seed=c.createHash('sha256').update('weft').digest();const chunks=[];let left=${bytes};while(left>0){seed=c.createHash('sha256').update(seed).digest();const b=Buffer.alloc(Math.min(left,65536));for(let i=0;i<b.length;i+=32)seed.copy(b,i);chunks.push(b);left-=b.length}const data=Buffer.concat(chunks);const s=require('net').connect(${TCP_PORT},'${to.ip}',()=>s.end(data));s.on('close',()=>console.log(c.createHash('sha256').update(data).digest('hex')))`,
      ],
      { timeoutMs: 60_000 },
    );
    await waitFor(() => out.includes('"n"'), 30_000);
    const got = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as { n: number; sha: string };
    if (got.sha !== r.stdout.trim())
      throw new Error(`TCP transfer corrupted: sent ${r.stdout.trim()}, received ${got.sha}`);
    return got.n;
  } finally {
    await lab.kill(server);
  }
}

async function waitFor(pred: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A packet captured to a file: start with `captureToFile`, stop with `stop()`. */
export async function captureToFile(
  lab: Lab,
  ns: string,
  iface: string,
  file: string,
  filter: string[] = [],
): Promise<{ stop(): Promise<Buffer> }> {
  const cap = await startCapture(lab, ns, iface, ['-U', '-s', '0', '-w', file, ...filter]);
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 300));
      await lab.kill(cap.proc, 'SIGINT');
      const { readFileSync } = await import('node:fs');
      return readFileSync(file);
    },
  };
}

export interface CapturedUdp {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** UDP datagrams (IPv4 over Ethernet, unfragmented) in a classic pcap file. */
export function udpPayloads(pcap: Buffer): CapturedUdp[] {
  const out: CapturedUdp[] = [];
  if (pcap.length < 24 || pcap.readUInt32LE(0) !== 0xa1b2c3d4) return out;
  let off = 24;
  while (off + 16 <= pcap.length) {
    const incl = pcap.readUInt32LE(off + 8);
    const pkt = pcap.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (pkt.length < 14 + 20 + 8 || pkt.readUInt16BE(12) !== 0x0800) continue;
    const ip = pkt.subarray(14);
    const ihl = (ip[0]! & 0x0f) * 4;
    const fragmented = (ip.readUInt16BE(6) & 0x3fff) !== 0;
    if (ip[9] !== 17 || fragmented) continue;
    const udp = ip.subarray(ihl);
    const fmt = (b: Buffer) => Array.from(b).join('.');
    out.push({
      src: fmt(ip.subarray(12, 16)),
      dst: fmt(ip.subarray(16, 20)),
      srcPort: udp.readUInt16BE(0),
      dstPort: udp.readUInt16BE(2),
      payload: Buffer.from(udp.subarray(8, udp.readUInt16BE(4))),
    });
  }
  return out;
}

/** Send raw UDP datagrams (hex payloads) from inside a namespace. */
export async function sendUdp(
  lab: Lab,
  ns: string,
  ip: string,
  port: number,
  payloads: Uint8Array[],
): Promise<void> {
  const hex = JSON.stringify(payloads.map((p) => Buffer.from(p).toString('hex')));
  await lab.mustExec(ns, process.execPath, [
    '-e',
    `const s=require('dgram').createSocket('udp4');const ps=${hex};let n=0;for(const p of ps)s.send(Buffer.from(p,'hex'),${port},'${ip}',()=>{if(++n===ps.length)s.close()})`,
  ]);
}
