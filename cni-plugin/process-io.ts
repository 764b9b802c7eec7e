/**
 * The real process behind ProcessIo: stdin read whole and synchronously,
 * stdout written with fs.writeSync (a piped stdout is asynchronous in Node and
 * would lose the result at process.exit), and the own-netns test the spec
 * asks for (CNI_NETNS must not be the plugin's own namespace).
 */
import { readFileSync, statSync, writeSync } from 'node:fs';
import type { ProcessIo } from './skel.js';

function writeAll(fd: number, s: string): void {
  const buf = Buffer.from(s, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      // A non-blocking pipe that is full: try again until the reader drains it.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

export function isSameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

export function nodeProcessIo(): ProcessIo {
  return {
    env: process.env,
    readStdin: () => {
      try {
        return readFileSync(0, 'utf8');
      } catch (e) {
        // No stdin at all (closed descriptor) reads as empty, like Go's io.ReadAll.
        if ((e as NodeJS.ErrnoException).code === 'EBADF') return '';
        throw e;
      }
    },
    stdout: (s) => writeAll(1, s),
    stderr: (s) => writeAll(2, s),
    isOwnNetns: (path) => isSameFile(path, '/proc/self/ns/net'),
  };
}
