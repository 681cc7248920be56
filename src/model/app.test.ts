import { describe, expect, it } from 'vitest';
import type { Peering } from '../api/v1alpha1/peering.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { admittedCidrs, appChildren, appSelector } from './app.ts';
import { makeApp, makePeering, makeSpace } from './fixtures.ts';

const space = makeSpace('acme', { trustedIPRanges: ['203.0.113.0/24', '198.51.100.0/24'] });
const labels = {
  'app.kubernetes.io/managed-by': 'spaces-operator',
  'privatespaces.dev/app': 'billing',
  'privatespaces.dev/space': 'acme',
};
const owner = [
  {
    apiVersion: 'privatespaces.dev/v1alpha1',
    kind: 'App',
    name: 'billing',
    uid: 'uid-billing',
    controller: true,
    blockOwnerDeletion: true,
  },
];
const fromSpace = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'acme' } } };
const peerings: Peering[] = [
  makePeering({ name: 'office', spec: { cidrs: ['192.168.50.0/24'] }, phase: 'active' }),
  makePeering({ name: 'dc', spec: { cidrs: ['172.20.0.0/16', '10.30.0.0/16'] }, phase: 'active' }),
  makePeering({ name: 'new', spec: { cidrs: ['192.168.60.0/24'] }, phase: 'pending' }),
  makePeering({ name: 'bad', spec: { cidrs: ['192.168.70.0/24'] }, phase: 'failed' }),
  makePeering({ name: 'fresh', spec: { cidrs: ['192.168.80.0/24'] } }),
  makePeering({
    name: 'elsewhere',
    namespace: 'other',
    spec: { cidrs: ['192.168.90.0/24'] },
    phase: 'active',
  }),
];

describe('appChildren, internal app', () => {
  const [svc, np] = appChildren(makeApp('billing', { internalRouting: true }), space, peerings);

  it('renders a ClusterIP Service only', () => {
    expect(svc).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'billing', namespace: 'acme', labels, ownerReferences: owner },
      spec: {
        type: 'ClusterIP',
        selector: { 'privatespaces.dev/app': 'billing' },
        ports: [{ name: 'web', protocol: 'TCP', port: 5000, targetPort: 5000 }],
      },
    });
    expect(svc.spec).not.toHaveProperty('externalIPs');
    expect(svc.spec).not.toHaveProperty('loadBalancerSourceRanges');
  });

  it('admits the Space and the ACTIVE peerings of its namespace only, sorted', () => {
    expect(np).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'app-billing', namespace: 'acme', labels, ownerReferences: owner },
      spec: {
        podSelector: { matchLabels: { 'privatespaces.dev/app': 'billing' } },
        policyTypes: ['Ingress'],
        ingress: [
          { from: [fromSpace] },
          {
            from: [
              { ipBlock: { cidr: '10.30.0.0/16' } },
              { ipBlock: { cidr: '172.20.0.0/16' } },
              { ipBlock: { cidr: '192.168.50.0/24' } },
            ],
            ports: [{ protocol: 'TCP', port: 5000 }],
          },
        ],
      },
    });
  });

  it('ignores the trusted IP ranges', () => {
    expect(JSON.stringify(np)).not.toContain('203.0.113.0/24');
  });
});

describe('appChildren, external app', () => {
  const [svc, np] = appChildren(makeApp('billing', { port: 8080 }), space, peerings);

  it('renders a LoadBalancer limited to the trusted ranges, keeping client IPs', () => {
    expect(svc.spec).toEqual({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      loadBalancerSourceRanges: ['198.51.100.0/24', '203.0.113.0/24'],
      selector: { 'privatespaces.dev/app': 'billing' },
      ports: [{ name: 'web', protocol: 'TCP', port: 8080, targetPort: 8080 }],
    });
  });

  it('admits the Space and the trusted ranges on the web port, not the peerings', () => {
    expect(np.spec.ingress).toEqual([
      { from: [fromSpace] },
      {
        from: [{ ipBlock: { cidr: '198.51.100.0/24' } }, { ipBlock: { cidr: '203.0.113.0/24' } }],
        ports: [{ protocol: 'TCP', port: 8080 }],
      },
    ]);
  });

  it('with no trusted range admits only the Space and sets no source ranges', () => {
    const [s, p] = appChildren(makeApp('billing'), makeSpace('acme', { trustedIPRanges: [] }), []);
    expect(s.spec).not.toHaveProperty('loadBalancerSourceRanges');
    expect(p.spec.ingress).toEqual([{ from: [fromSpace] }]);
  });
});

describe('appSelector and admittedCidrs', () => {
  it.each([
    [makeApp('billing'), { 'privatespaces.dev/app': 'billing' }],
    [makeApp('billing', { selector: { matchLabels: {} } }), { 'privatespaces.dev/app': 'billing' }],
    [makeApp('billing', { selector: { matchLabels: { z: '1', a: '2' } } }), { a: '2', z: '1' }],
  ])('%#', (app, want) => {
    expect(appSelector(app)).toEqual(want);
    expect(Object.keys(appSelector(app))).toEqual(Object.keys(want));
  });

  it.each<[string, boolean, Space, Peering[], string[]]>([
    ['internal, no peering', true, space, [], []],
    ['internal, peerings', true, space, peerings, ['10.30.0.0/16', '172.20.0.0/16', '192.168.50.0/24']],
    ['external, everyone', false, makeSpace('acme'), peerings, ['0.0.0.0/0']],
    ['external, none', false, makeSpace('acme', { trustedIPRanges: [] }), peerings, []],
  ])('%s', (_name, internalRouting, s, ps, want) => {
    expect(admittedCidrs(makeApp('billing', { internalRouting }), s, ps)).toEqual(want);
  });

  it('is deterministic whatever the input order', () => {
    const a = appChildren(makeApp('billing', { internalRouting: true }), space, peerings);
    const b = appChildren(makeApp('billing', { internalRouting: true }), space, [...peerings].reverse());
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });
});
