import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { admits, evaluateIngress } from './evaluator.ts';
import { InvalidReachInputError, asReachInput } from './errors.ts';
import { widening } from './exposure.ts';

// The CIDR math lives in src/model/cidr.ts; what it cannot read reaches the callers of this module as
// InvalidReachInputError (the CLI tells a malformed policy from an API failure by that name).
const pod = { namespace: 'acme', labels: { app: 'billing' }, ports: [] };
const withBlock = (cidr: string, except: string[] = []): V1NetworkPolicy => ({
  metadata: { name: 'p', namespace: 'acme' },
  spec: { podSelector: {}, ingress: [{ _from: [{ ipBlock: { cidr, except } }] }] },
});
const reachOf = (policy: V1NetworkPolicy) =>
  evaluateIngress({ pod, policies: [policy], namespaces: [{ name: 'acme', labels: {} }] });

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('a CIDR the module cannot read', () => {
  it('is an InvalidReachInputError naming cidr when admits() meets it', () => {
    const err = thrown(() => admits(reachOf(withBlock('10.0.0.0/33')), { ip: '10.0.0.1' }));
    expect(err).toBeInstanceOf(InvalidReachInputError);
    expect(err).toMatchObject({
      name: 'InvalidReachInputError',
      field: 'cidr',
      message: 'cidr: "10.0.0.0/33" is not an IPv4 or IPv6 CIDR such as 10.0.0.0/16',
    });
  });

  it('is an InvalidReachInputError naming ip for a malformed address', () => {
    const err = thrown(() => admits(reachOf(withBlock('10.0.0.0/8')), { ip: '10.0.0.300' }));
    expect(err).toMatchObject({ name: 'InvalidReachInputError', field: 'ip' });
  });

  it('is an InvalidReachInputError when widening() meets it in an except', () => {
    const err = thrown(() =>
      widening({
        reach: reachOf(withBlock('0.0.0.0/0', ['nonsense/8'])),
        allowed: { spaceNamespace: 'acme', cidrs: [] },
      }),
    );
    expect(err).toMatchObject({ name: 'InvalidReachInputError', field: 'cidr' });
  });

  it('leaves other errors as they are', () => {
    const boom = new TypeError('boom');
    expect(
      thrown(() =>
        asReachInput(() => {
          throw boom;
        }),
      ),
    ).toBe(boom);
  });
});
