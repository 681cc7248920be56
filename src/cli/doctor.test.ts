import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { App } from '../api/v1alpha1/index.ts';
import { appChildren, spaceChildren } from '../model/index.ts';
import { makeApp, makePeering, makeSpace } from '../model/fixtures.ts';
import { diagnose, dnsNames, endpointCounts, formatDoctor, type DoctorInput } from './doctor.ts';
import type { Obj } from './kube.ts';
import { expectGolden } from './testdata/golden.ts';

const T = '2026-01-01T00:00:00Z';
const now = new Date('2026-01-01T00:10:00Z');
const space = makeSpace('acme', { dnsDomain: 'acme.internal' });
const office = makePeering({ name: 'office', phase: 'active' });
const app: App = {
  ...makeApp('billing', { internalRouting: true, domains: ['pay.billing.acme.internal'] }),
  metadata: { name: 'billing', namespace: 'acme', uid: 'u1', generation: 1 },
  status: {
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Reconciled',
        message: 'in place',
        lastTransitionTime: T,
        observedGeneration: 1,
      },
    ],
  },
};
const [service, policy] = appChildren(app, space, [office]);
const liveService = { ...service, spec: { ...service.spec, clusterIP: '10.96.0.20' } } as unknown as Obj;
const policies = [spaceChildren(space)[1], policy] as unknown as V1NetworkPolicy[];
const pod = (ready: boolean): Obj => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `web-${String(ready)}`,
    namespace: 'acme',
    labels: { 'privatespaces.dev/app': 'billing' },
  },
  spec: { containers: [{ name: 'web', ports: [{ containerPort: 5000 }] }] },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const slice = (ready: boolean): Obj => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'billing-abc', labels: { 'kubernetes.io/service-name': 'billing' } },
  endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready } }],
});
const hosts = (line: string): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'coredns-custom' },
  data: { 'privatespaces.hosts': `# generated\n${line}\n` },
});
const event = (reason: string, note: string, time: string, type = 'Normal'): Obj => ({
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: { name: reason },
  type,
  reason,
  note,
  eventTime: time,
});

const healthy: DoctorInput = {
  app,
  space,
  peerings: [office],
  policies,
  namespaces: [{ name: 'acme' }, { name: 'other' }],
  pods: [pod(true)],
  service: liveService,
  endpointSlices: [slice(true)],
  events: [event('Reconciled', 'Service billing and NetworkPolicy in place', '2026-01-01T00:05:00Z')],
  dns: {
    configMap: hosts('10.96.0.20 billing.acme.internal pay.billing.acme.internal web.billing.app.localspace'),
  },
  now,
};

describe('diagnose', () => {
  it('a healthy internal app: no problem', () => {
    const r = diagnose(healthy);
    expect(r.problems).toEqual([]);
    expect(r.policies).toEqual(['acme/app-billing', 'acme/space-default-deny']);
    expect(r.endpoints).toEqual({ ready: 1, total: 1, slices: ['billing-abc'] });
    expect(r.dns.names.every((n) => n.published && n.address === '10.96.0.20')).toBe(true);
    expectGolden('doctor-healthy.txt', formatDoctor(r));
  });

  it('no ready pod: says so, and what to do', () => {
    const r = diagnose({
      ...healthy,
      pods: [pod(false)],
      endpointSlices: [slice(false)],
      dns: { configMap: hosts('') },
      events: [
        ...healthy.events,
        event('Exposed', 'NetworkPolicy acme/x lets others in', '2026-01-01T00:08:00Z', 'Warning'),
      ],
    });
    expect(r.problems.map((p) => p.what)).toEqual([
      'the web process has no ready endpoint (1 pod(s) labelled privatespaces.dev/app=billing, 0 Ready), so nothing answers and its names do not resolve',
    ]);
    expect(r.problems[0]?.fix).toContain('kubectl -n acme describe pods -l privatespaces.dev/app=billing');
    expectGolden('doctor-not-ready.txt', formatDoctor(r));
  });

  it('no pod at all: tells which labels to put on the web process', () => {
    const r = diagnose({ ...healthy, pods: [], endpointSlices: [], dns: {} });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.fix).toContain(
      'run the web process with the label(s) privatespaces.dev/app=billing',
    );
  });

  it('the operator never reconciled: no status, no Service, no policies', () => {
    const bare: App = { ...app, status: undefined };
    const r = diagnose({
      ...healthy,
      app: bare,
      service: undefined,
      policies: [],
      events: [],
      pods: [],
      endpointSlices: [],
      dns: {},
    });
    const what = r.problems.map((p) => p.what);
    expect(what).toContain('the operator has not reported on this App yet (no status conditions)');
    expect(what).toContain('Service acme/billing is missing');
    expect(what).toContain('NetworkPolicy acme/app-billing is missing');
    expect(what).toContain('NetworkPolicy acme/space-default-deny is missing');
    expect(what.some((w) => w.startsWith('reachable from beyond'))).toBe(true);
    expectGolden('doctor-unreconciled.txt', formatDoctor(r));
  });

  it('exposed by a widening policy, Ready False, and a stale generation', () => {
    const widening = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'open', namespace: 'acme' },
      spec: { podSelector: {}, ingress: [{}] },
    } as V1NetworkPolicy;
    const stale: App = {
      ...app,
      metadata: { ...app.metadata, generation: 2 },
      status: {
        observedGeneration: 1,
        conditions: [
          { type: 'Ready', status: 'False', reason: 'Exposed', message: 'open', lastTransitionTime: T },
        ],
      },
    };
    const r = diagnose({ ...healthy, app: stale, policies: [...policies, widening] });
    const what = r.problems.map((p) => p.what);
    expect(what).toContain('generation 2 is not reconciled yet (observed 1)');
    expect(what).toContain('Ready is False (Exposed): open');
    expect(what.find((w) => w.includes('acme/open'))).toMatch(/^reachable from beyond Space acme/);
    expect(r.policies).toContain('acme/open');
  });

  it('DNS: a missing name while ready, a name pointing elsewhere, a wrong Service type, a wrong port', () => {
    const r = diagnose({
      ...healthy,
      service: { ...liveService, spec: { type: 'NodePort', clusterIP: '10.96.0.20' } },
      pods: [{ ...pod(true), spec: { containers: [{ ports: [{ containerPort: 8080 }] }] } }],
      dns: { configMap: hosts('10.96.9.9 billing.acme.internal') },
    });
    const what = r.problems.map((p) => p.what);
    expect(what).toContain('Service acme/billing is type NodePort, the operator wants ClusterIP');
    expect(what).toContain("the web pods declare container ports 8080 but the App's port is 5000");
    expect(what).toContain(
      "billing.acme.internal points at 10.96.9.9 but the Service's ClusterIP is 10.96.0.20",
    );
    expect(what).toContain(
      'pay.billing.acme.internal is not in kube-system/coredns-custom although the web process is ready',
    );
  });

  it('DNS ConfigMap absent or unreadable: said, not a problem', () => {
    const absent = diagnose({ ...healthy, dns: {} });
    expect(absent.problems).toEqual([]);
    expect(absent.dns.source).toContain('not found, so names are not checked');
    const forbidden = diagnose({ ...healthy, dns: { error: 'forbidden for your user' } });
    expect(forbidden.problems).toEqual([]);
    expect(forbidden.dns.source).toContain('forbidden');
  });

  it('an App in a namespace of no Space', () => {
    const r = diagnose({ ...healthy, space: undefined });
    expect(r.problems[0]?.what).toBe(
      'namespace acme belongs to no Space, so the operator ignores App billing',
    );
  });

  it('an internal app and hostNetwork pods outside kube-system and the operator namespace: a problem naming them', () => {
    const hostPod = (namespace: string, name: string) => ({
      metadata: { namespace, name },
      spec: { hostNetwork: true, containers: [] },
      status: { phase: 'Running' },
    });
    const r = diagnose({
      ...healthy,
      hostNetwork: {
        pods: [
          hostPod('kube-system', 'kube-proxy'),
          hostPod('spaces-system', 'op'),
          hostPod('ingress', 'nginx-1'),
        ],
      },
    });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.what).toMatch(/^1 hostNetwork pod\(s\) can reach it regardless of NetworkPolicy/);
    expect(r.problems[0]?.what).toContain('ingress/nginx-1');
    expect(r.problems[0]?.what).not.toContain('kube-proxy');
    expect(r.problems[0]?.fix).toContain('remove hostNetwork');
  });

  it('hostNetwork pods: none outside the exempt namespaces, or an external app: no problem; unreadable: says so', () => {
    const sys = {
      metadata: { namespace: 'kube-system', name: 'kube-proxy' },
      spec: { hostNetwork: true, containers: [] },
    };
    expect(diagnose({ ...healthy, hostNetwork: { pods: [sys] } }).problems).toEqual([]);
    const external = { ...app, spec: { ...app.spec, internalRouting: false } };
    const other = { ...sys, metadata: { namespace: 'ingress', name: 'x' } };
    expect(
      diagnose({ ...healthy, app: external, hostNetwork: { pods: [other] } }).problems.some((p) =>
        p.what.includes('hostNetwork'),
      ),
    ).toBe(false);
    const r = diagnose({
      ...healthy,
      hostNetwork: { error: 'listing pods in every namespace is forbidden for your user' },
    });
    expect(r.problems.map((p) => p.what)).toEqual([
      'hostNetwork pods were not checked (listing pods in every namespace is forbidden for your user); any of them would reach this internal app regardless of NetworkPolicy',
    ]);
  });

  it('-o json is the report', () => {
    const r = diagnose(healthy);
    expect(JSON.parse(formatDoctor(r, 'json'))).toEqual(r);
  });
});

describe('endpointCounts and dnsNames', () => {
  it('counts endpoints with addresses; ready unless ready is false', () => {
    const s = {
      metadata: { name: 's' },
      endpoints: [
        { addresses: ['a'], conditions: {} },
        { addresses: ['b'], conditions: { ready: false } },
        { addresses: [], conditions: { ready: true } },
      ],
    } as unknown as Obj;
    expect(endpointCounts([s])).toEqual({ ready: 1, total: 2, slices: ['s'] });
  });

  it('finds a name as a host in any line of any key, not as a substring', () => {
    const cm = hosts('10.0.0.1 xbilling.acme.internal\n10.0.0.2 a.b billing.acme.internal # comment');
    expect(dnsNames(['billing.acme.internal', 'other.acme.internal'], cm)).toEqual([
      { name: 'billing.acme.internal', published: true, address: '10.0.0.2' },
      { name: 'other.acme.internal', published: false },
    ]);
  });
});
