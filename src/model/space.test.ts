import { describe, expect, it } from 'vitest';
import { makeSpace } from './fixtures.ts';
import { spaceChildren, spaceDnsDomain, spaceNamespaceName, spaceNetworkStatus } from './space.ts';

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

  it('names the namespace as the Space, labels it and lets the Space own it', () => {
    expect(ns).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'acme',
        labels: { 'app.kubernetes.io/managed-by': 'spaces-operator', 'privatespaces.dev/space': 'acme' },
        ownerReferences: [owner],
      },
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
