import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import { appChildren, spaceChildren } from '../model/index.ts';
import { makeApp, makePeering, makeSpace } from '../model/fixtures.ts';
import type { NamespaceInfo, PodInfo } from '../reach/index.ts';
import { allowedFor, evaluateApp, formatReach, reachView, type ReachInput, type ReachView } from './reach.ts';
import { expectGolden } from './testdata/golden.ts';

const space = makeSpace('acme', { trustedIPRanges: ['203.0.113.0/24'] });
const office = makePeering({ name: 'office', phase: 'active' });
const pending = makePeering({ name: 'dc', spec: { type: 'vpc', cidrs: ['172.20.0.0/16'] } });
const internal = makeApp('billing', { internalRouting: true });
const external = makeApp('www', { port: 8080 });
const namespaces: NamespaceInfo[] = [
  { name: 'acme', labels: { 'privatespaces.dev/space': 'acme' } },
  { name: 'other', labels: { team: 'x' } },
];

/** The operator's own policies: the Space's default deny and the App's policy. */
function operatorPolicies(app: App, s: Space, peerings: Peering[]): V1NetworkPolicy[] {
  return [spaceChildren(s)[1], appChildren(app, s, peerings)[1]];
}

function input(app: App, extra: V1NetworkPolicy[] = [], pods: PodInfo[] = []): ReachInput {
  const peerings = [office, pending];
  return {
    app,
    space,
    peerings,
    policies: [...operatorPolicies(app, space, peerings), ...extra],
    namespaces,
    pods,
  };
}

const np = (name: string, spec: object): V1NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'acme' },
  spec,
});

const fromOther = np('let-other-in', {
  podSelector: { matchLabels: { 'privatespaces.dev/app': 'billing' } },
  ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }] }],
});

describe('allowedFor', () => {
  it('internal: the Space and ACTIVE peerings only', () => {
    expect(allowedFor(internal, space, [office, pending])).toEqual({
      spaceNamespace: 'acme',
      cidrs: ['192.168.50.0/24'],
    });
  });
  it('external: also the trusted IP ranges', () => {
    expect(allowedFor(external, space, [office, pending]).cidrs).toEqual([
      '192.168.50.0/24',
      '203.0.113.0/24',
    ]);
  });
});

describe('evaluateApp and reachView', () => {
  it("the operator's own policies: the Space and the peering's CIDRs, nothing else, not exposed", () => {
    const v = reachView(input(internal));
    expect(v.exposed).toBe(false);
    expect(v.reachableFrom.map((r) => [r.source, r.ports, r.policy])).toEqual([
      ['namespace/acme', 'all', 'acme/app-billing'],
      ['cidr/192.168.50.0/24', '5000/TCP', 'acme/app-billing'],
    ]);
    expect(v.reachableFrom.some((r) => r.source.includes('203.0.113.0'))).toBe(false);
    expectGolden('reach-contained.txt', formatReach(v));
  });

  it('a policy that lets another namespace in: flagged, with the reason', () => {
    const v = reachView(input(internal, [fromOther]));
    expect(v.exposed).toBe(true);
    const flagged = v.reachableFrom.filter((r) => r.exposes).map((r) => [r.source, r.policy]);
    expect(flagged).toContainEqual(['namespace/other', 'acme/let-other-in']);
    expect(v.widenings.map((w) => w.policy)).toContain('acme/let-other-in');
    expectGolden('reach-exposed.txt', formatReach(v));
    expectGolden('reach-exposed-wide.txt', formatReach(v, 'wide'));
  });

  it('an ipBlock beyond the peerings exposes an internal app, not an external one inside its trusted ranges', () => {
    const trusted = np('trusted', {
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '203.0.113.0/24' } }] }],
    });
    expect(reachView(input(internal, [trusted])).exposed).toBe(true);
    expect(reachView(input(external, [trusted])).exposed).toBe(false);
  });

  it('a pod no policy isolates is open to everyone', () => {
    const v = reachView({ ...input(internal), policies: [] });
    expect(v.exposed).toBe(true);
    expect(formatReach(v)).toContain("the Space's default-deny policy is missing");
  });

  it('evaluates live pods too: a policy selecting a label only the real pods carry is seen', () => {
    const byProcess = np('by-process', {
      podSelector: { matchLabels: { 'privatespaces.dev/process': 'web' } },
      ingress: [{}],
    });
    const pod: PodInfo = {
      namespace: 'acme',
      labels: { 'privatespaces.dev/app': 'billing', 'privatespaces.dev/process': 'web' },
      ports: [{ name: 'http', containerPort: 5000, protocol: 'TCP' }],
    };
    expect(reachView(input(internal, [byProcess])).exposed).toBe(false);
    const ev = evaluateApp(input(internal, [byProcess], [pod]));
    expect(ev.evaluatedFor).toEqual([
      'privatespaces.dev/app=billing',
      'privatespaces.dev/app=billing,privatespaces.dev/process=web',
    ]);
    expect(ev.widenings.map((w) => w.policy)).toEqual(['acme/by-process']);
  });

  it('-o json is the view', () => {
    const v = reachView(input(internal, [fromOther]));
    expect(JSON.parse(formatReach(v, 'json')) as ReachView).toEqual(v);
  });
});
