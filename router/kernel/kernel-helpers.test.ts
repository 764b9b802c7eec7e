import { describe, expect, it } from 'vitest';
import { isWeftError, WeftError } from '../../common/errors.js';
import { errnoOf, isExists, isNotFound, kernelCall, kernelError } from './kernel-errors.js';
import { isMac, macFromBytes, normalizeMac } from './mac.js';
import { sysctlRelPath } from './sysctl.js';

describe('kernel errors', () => {
  it('read the errno from the netlink package, Node/addon errors and our own', () => {
    expect(errnoOf(new Error('Request rejected: EEXIST'))).toBe('EEXIST');
    expect(errnoOf(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe('ENOENT');
    expect(errnoOf(new WeftError('KERNEL_ERROR', 'm', { errno: 'ENODEV' }))).toBe('ENODEV');
    expect(errnoOf(new Error('Timeout has been reached'))).toBeUndefined();
    expect(errnoOf('nope')).toBeUndefined();
  });

  it('classify exists and the several not-found errnos', () => {
    expect(isExists(new Error('Request rejected: EEXIST'))).toBe(true);
    for (const e of ['ENOENT', 'ENODEV', 'ESRCH', 'EADDRNOTAVAIL'])
      expect(isNotFound(new Error(`Request rejected: ${e}`))).toBe(true);
    expect(isNotFound(new Error('Request rejected: EEXIST'))).toBe(false);
    expect(isNotFound(new Error('Request rejected: EPERM'))).toBe(false);
  });

  it('wrap failures as KERNEL_ERROR with op and errno, unless tolerated', async () => {
    const e = kernelError('add route', new Error('Request rejected: ENETUNREACH'), { dst: '10.0.0.0/8' });
    expect(e.code).toBe('KERNEL_ERROR');
    expect(e.details).toMatchObject({ op: 'add route', errno: 'ENETUNREACH', dst: '10.0.0.0/8' });
    expect(e.message).toBe('add route failed: ENETUNREACH');
    const timeout = kernelError('list links', new Error('Timeout has been reached'));
    expect(timeout.details).toMatchObject({ errno: 'EUNKNOWN' });
    expect(timeout.message).toContain('Timeout');
    await expect(
      kernelCall('x', {}, () => Promise.reject(new Error('Request rejected: EEXIST')), {
        when: isExists,
        value: 'kept',
      }),
    ).resolves.toBe('kept');
    const thrown = await kernelCall('x', {}, () =>
      Promise.reject(new Error('Request rejected: EPERM')),
    ).catch((x) => x);
    expect(isWeftError(thrown) && thrown.details?.errno).toBe('EPERM');
  });
});

describe('MAC addresses', () => {
  it('normalise to lower case and refuse malformed input', () => {
    expect(normalizeMac('02:AA:bb:0C:dd:EE')).toBe('02:aa:bb:0c:dd:ee');
    expect(isMac('02:aa:bb:cc:dd')).toBe(false);
    expect(isMac('02-aa-bb-cc-dd-ee')).toBe(false);
    expect(() => normalizeMac('zz:aa:bb:cc:dd:ee')).toThrow(WeftError);
    expect(macFromBytes(Buffer.from([0, 1, 0xab, 0xff, 2, 3]))).toBe('00:01:ab:ff:02:03');
  });
});

describe('sysctl keys', () => {
  it('turn dotted names into paths and keep slash paths (interface names may contain dots)', () => {
    expect(sysctlRelPath('net.ipv4.ip_forward')).toBe('net/ipv4/ip_forward');
    expect(sysctlRelPath('net/ipv4/conf/eth0.100/forwarding')).toBe('net/ipv4/conf/eth0.100/forwarding');
  });

  it('refuse anything that could leave /proc/sys', () => {
    for (const bad of ['/etc/passwd', 'net/../../etc/passwd', 'net//ipv4', '..', 'net/ipv4/', 'a\0b']) {
      expect(() => sysctlRelPath(bad)).toThrow(WeftError);
    }
  });
});
