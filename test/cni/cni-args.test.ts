/** Checklist §2, CNI_ARGS: libcni's LoadArgs rules, edge case by edge case. */
import { describe, expect, it } from 'vitest';
import { parseCniArgs } from '../../cni-plugin/spec/cni-args.js';
import { CniCode, CniError } from '../../cni-plugin/spec/errors.js';

describe('CNI_ARGS parsing', () => {
  it.each([
    ['', {}],
    ['IP=10.32.0.9', { IP: '10.32.0.9' }],
    ['K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0', { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0' }],
    ['IP=', { IP: '' }],
    ['IgnoreUnknown=1;FOO=bar', { IgnoreUnknown: '1' }],
    ['FOO=bar;IgnoreUnknown=true', { IgnoreUnknown: 'true' }],
    ['IgnoreUnknown=TRUE;FOO=bar', { IgnoreUnknown: 'TRUE' }],
    [
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u-1',
      {
        IgnoreUnknown: '1',
        K8S_POD_NAMESPACE: 'kube-system',
        K8S_POD_NAME: 'coredns',
        K8S_POD_INFRA_CONTAINER_ID: 'abc',
        K8S_POD_UID: 'u-1',
      },
    ],
    [
      'IgnoreUnknown=1;K8S_POD_NAME=web;MAC=02:00:00:00:00:01;IP=10.32.0.9',
      { IgnoreUnknown: '1', K8S_POD_NAME: 'web', MAC: '02:00:00:00:00:01', IP: '10.32.0.9' },
    ],
  ])('%j parses', (raw, expected) => {
    expect(Object.fromEntries(parseCniArgs(raw).known)).toStrictEqual(expected);
  });

  it.each([
    ['FOO=bar', 'unknown key without IgnoreUnknown'],
    ['ip=10.0.0.1', 'keys are case-sensitive'],
    ['IgnoreUnknown=0;FOO=bar', 'IgnoreUnknown=0 does not ignore'],
    ['IgnoreUnknown=false;FOO=bar', 'IgnoreUnknown=false does not ignore'],
    ['IgnoreUnknown=yes', 'only 1/0/true/false are booleans'],
    ['IP', 'a pair without ='],
    ['IP=a=b', 'a pair with two ='],
    ['IP=10.0.0.1;', 'a trailing ; leaves an empty pair'],
    [';IP=10.0.0.1', 'a leading ; leaves an empty pair'],
    ['IP=10.0.0.1;;K8S_POD_NAME=x', 'an empty pair in the middle'],
    ['=x', 'an empty key is unknown'],
  ])('%j is refused with code 4 (%s)', (raw) => {
    try {
      parseCniArgs(raw);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
      expect((e as CniError).code).toBe(CniCode.INVALID_ENVIRONMENT);
    }
  });

  it('unknown pairs are kept for the logs when ignored', () => {
    const a = parseCniArgs('IgnoreUnknown=1;FOO=bar;BAZ=');
    expect(a.ignoreUnknown).toBe(true);
    expect(a.unknown).toStrictEqual(['FOO=bar', 'BAZ=']);
  });

  it('the order of keys does not matter (containerd varies it)', () => {
    const a = parseCniArgs('K8S_POD_NAME=x;IgnoreUnknown=1;Z=1');
    const b = parseCniArgs('Z=1;IgnoreUnknown=1;K8S_POD_NAME=x');
    expect(Object.fromEntries(a.known)).toStrictEqual(Object.fromEntries(b.known));
  });

  it('a plugin can restrict the keys it knows', () => {
    expect(() => parseCniArgs('MAC=02:00:00:00:00:01', ['IgnoreUnknown', 'IP'])).toThrow(CniError);
  });
});
