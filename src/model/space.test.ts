import { describe, expect, it } from 'vitest';
import { makeSpace } from './fixtures.ts';
import {
  namespaceClaim,
  podSecurityProblems,
  releasedNamespace,
  reservedSpaceNameError,
  spaceChildren,
  spaceDnsDomain,
  spaceNamespaceName,
  spaceNetworkStatus,
  writtenOnlyBy,
} from './space.ts';

const PSA = {
  'pod-security.kubernetes.io/audit': 'baseline',
  'pod-security.kubernetes.io/enforce': 'baseline',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'baseline',
};

describe('spaceChildren', () => {
  const [ns, policy] = spaceChildren(makeSpace('acme'));
  const owner = {
    apiVersion: 'privatespaces.dev/v1alpha1',
    kind: 'Space',
    name: 'acme',
    uid: 'uid-acme',
    controller: true,
    blockOwnerDeletion: true,
  };

  it('names the namespace as the Space, labels it (Pod Security baseline) and lets the Space own it', () => {
    expect(ns).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'acme',
        labels: {
          'app.kubernetes.io/managed-by': 'spaces-operator',
          ...PSA,
          'privatespaces.dev/space': 'acme',
        },
        ownerReferences: [owner],
      },
    });
  });

  it('labels the platform level, and gives an adopted namespace no owner reference', () => {
    const [adopted, np] = spaceChildren(makeSpace('acme'), { podSecurity: 'restricted', adopted: true });
    expect(adopted.metadata.ownerReferences).toBeUndefined();
    expect(adopted.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(adopted.metadata.labels['pod-security.kubernetes.io/warn']).toBe('restricted');
    expect(adopted.metadata.labels['pod-security.kubernetes.io/audit']).toBe('restricted');
    // The policy is still the Space's: it goes with the Space even in an adopted namespace.
    expect(np.metadata.ownerReferences).toEqual([owner]);
  });

  it('releases a namespace by applying nothing but its name', () => {
    expect(releasedNamespace(makeSpace('acme'))).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'acme' },
    });
  });

  it('denies all ingress in the namespace by default', () => {
    expect(policy).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'space-default-deny',
        namespace: 'acme',
        labels: { 'app.kubernetes.io/managed-by': 'spaces-operator', 'privatespaces.dev/space': 'acme' },
        ownerReferences: [owner],
      },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
  });

  it('omits owner references when the Space was never stored (no uid)', () => {
    const [n, p] = spaceChildren(makeSpace('draft', {}, null));
    expect(n.metadata.ownerReferences).toBeUndefined();
    expect(p.metadata.ownerReferences).toBeUndefined();
  });

  it('is deterministic', () => {
    expect(JSON.stringify(spaceChildren(makeSpace('acme')))).toBe(
      JSON.stringify(spaceChildren(makeSpace('acme'))),
    );
  });
});

describe('space names and status', () => {
  it.each([
    [makeSpace('acme'), 'acme', 'acme.spaces.local'],
    [makeSpace('acme', { dnsDomain: 'acme.internal' }), 'acme', 'acme.internal'],
    [makeSpace('test-space'), 'test-space', 'test-space.spaces.local'],
  ])('%#: namespace %s, domain %s', (space, ns, domain) => {
    expect(spaceNamespaceName(space)).toBe(ns);
    expect(spaceDnsDomain(space)).toBe(domain);
  });

  it.each([
    [
      '10.0.0.0/16',
      ['10.0.0.0/20', '10.0.16.0/20', '10.0.128.0/20', '10.0.144.0/20'],
      ['10.1.0.0/16', '172.17.0.0/16'],
    ],
    ['10.1.0.0/16', ['10.1.0.0/20', '10.1.16.0/20', '10.1.128.0/20', '10.1.144.0/20'], ['172.17.0.0/16']],
  ])('network status of %s', (cidr, dyno, unavailable) => {
    expect(spaceNetworkStatus(makeSpace('acme', { cidr }))).toEqual({
      namespace: 'acme',
      dynoSubnets: dyno,
      internalRoutingCIDR: cidr,
      unavailableCIDRs: unavailable,
    });
  });
});

describe('reservedSpaceNameError', () => {
  it.each(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kube-anything'])(
    'refuses the system namespace %s',
    (name) => {
      expect(reservedSpaceNameError(name)).toBe(
        `Space "${name}" would take over the system namespace ${name}; choose another name`,
      );
    },
  );

  it("refuses the operator's own namespace, as configured", () => {
    expect(reservedSpaceNameError('spaces-system')).toContain("the operator's own namespace spaces-system");
    expect(reservedSpaceNameError('platform', { operatorNamespace: 'platform' })).toContain(
      "operator's own namespace platform",
    );
    expect(reservedSpaceNameError('spaces-system', { operatorNamespace: 'platform' })).toBeUndefined();
  });

  it.each(['acme', 'kube', 'my-kube-system', 'defaults'])('allows %s', (name) => {
    expect(reservedSpaceNameError(name)).toBeUndefined();
  });
});

describe('namespaceClaim', () => {
  const space = makeSpace('acme');
  const ns = (metadata: Record<string, unknown>) => ({ metadata: { name: 'acme', ...metadata } });

  it('creates an absent namespace', () => {
    expect(namespaceClaim(space, undefined)).toEqual({ kind: 'create' });
  });

  it('keeps a namespace this Space owns (by uid)', () => {
    expect(namespaceClaim(space, ns({ ownerReferences: [{ uid: 'uid-acme', controller: true }] }))).toEqual({
      kind: 'owned',
    });
  });

  it('adopts only with the annotation naming this Space', () => {
    expect(namespaceClaim(space, ns({ annotations: { 'privatespaces.dev/adopt': 'acme' } }))).toEqual({
      kind: 'adopt',
    });
    const other = namespaceClaim(space, ns({ annotations: { 'privatespaces.dev/adopt': 'evil' } }));
    expect(other.kind).toBe('refused');
  });

  it('refuses an existing namespace with a message that says how to opt in', () => {
    const claim = namespaceClaim(space, ns({}));
    expect(claim).toEqual({
      kind: 'refused',
      reason: 'NamespaceExists',
      message: expect.stringContaining(
        'namespace acme already exists and the Space does not own it; to let Space acme adopt it, annotate the namespace privatespaces.dev/adopt=acme',
      ),
    });
  });

  it('refuses a namespace owned by an earlier Space of the same name (another uid), even annotated', () => {
    const claim = namespaceClaim(
      space,
      ns({
        ownerReferences: [{ uid: 'uid-old', controller: true }],
        annotations: { 'privatespaces.dev/adopt': 'x' },
      }),
    );
    expect(claim.kind).toBe('refused');
  });

  it('waits for a terminating namespace', () => {
    const claim = namespaceClaim(space, ns({ deletionTimestamp: '2026-01-01T00:00:00Z' }));
    expect(claim).toMatchObject({ kind: 'refused', reason: 'NamespaceTerminating' });
  });
});

describe('podSecurityProblems', () => {
  it('accepts the platform level or stricter', () => {
    expect(podSecurityProblems(PSA, undefined, 'baseline')).toEqual([]);
    const strict = { ...PSA, 'pod-security.kubernetes.io/enforce': 'restricted' };
    expect(podSecurityProblems(strict, undefined, 'baseline')).toEqual([]);
  });

  it('refuses missing or weaker levels and a pinned version on CREATE', () => {
    expect(podSecurityProblems({}, undefined, 'baseline')).toEqual([
      'pod-security.kubernetes.io/enforce missing (must be baseline or stricter)',
      'pod-security.kubernetes.io/warn missing (must be baseline or stricter)',
      'pod-security.kubernetes.io/audit missing (must be baseline or stricter)',
    ]);
    const weak = {
      ...PSA,
      'pod-security.kubernetes.io/enforce': 'privileged',
      'pod-security.kubernetes.io/enforce-version': 'v1.20',
    };
    expect(podSecurityProblems(weak, undefined, 'baseline')).toEqual([
      'pod-security.kubernetes.io/enforce=privileged (must be baseline or stricter)',
      'pod-security.kubernetes.io/enforce-version=v1.20 (must be latest)',
    ]);
    expect(podSecurityProblems(PSA, undefined, 'restricted')).toHaveLength(3);
    expect(
      podSecurityProblems({ ...PSA, 'pod-security.kubernetes.io/enforce': 'bogus' }, undefined, 'baseline'),
    ).toEqual(['pod-security.kubernetes.io/enforce=bogus (must be baseline or stricter)']);
  });

  it('refuses an UPDATE that weakens or removes a label, not one that leaves it as it was', () => {
    const { ['pod-security.kubernetes.io/enforce']: _gone, ...removed } = PSA;
    expect(podSecurityProblems(removed, PSA, 'baseline')).toEqual([
      'pod-security.kubernetes.io/enforce missing (must be baseline or stricter)',
    ]);
    expect(
      podSecurityProblems({ ...PSA, 'pod-security.kubernetes.io/warn': 'privileged' }, PSA, 'baseline'),
    ).toHaveLength(1);
    expect(podSecurityProblems({ team: 'a' }, {}, 'baseline')).toEqual([]);
  });
});

describe('writtenOnlyBy', () => {
  const mf = (...managers: string[]) => ({
    metadata: { managedFields: managers.map((manager) => ({ manager })) },
  });

  it('is true for an object only our apply wrote (it created it)', () => {
    expect(writtenOnlyBy(mf('spaces-operator'), 'spaces-operator')).toBe(true);
  });

  it('is false when someone else wrote it first (kubectl, a GitOps tool)', () => {
    expect(writtenOnlyBy(mf('kubectl-client-side-apply', 'spaces-operator'), 'spaces-operator')).toBe(false);
    expect(writtenOnlyBy(mf('kubectl-create'), 'spaces-operator')).toBe(false);
  });
});
