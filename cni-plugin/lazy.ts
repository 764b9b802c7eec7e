/**
 * Node built-ins that only some verbs need, loaded on first use with
 * `require` (a dynamic `import()` would start Node's ES module loader, which
 * costs a CNI call more than the module itself). VERSION, DEL and the error
 * paths never pay for them.
 */
import { createRequire } from 'node:module';

const req = createRequire(import.meta.url);

export const nodeNet = (): typeof import('node:net') => req('node:net');
export const nodeChildProcess = (): typeof import('node:child_process') => req('node:child_process');
