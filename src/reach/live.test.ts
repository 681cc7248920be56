import type { V1Ingress, V1NetworkPolicy, V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  hostNetworkReach,
  hostNetworkText,
  ingressBackends,
  liveExposure,
  selectorConflicts,
  selectorsOverlap,
  type LiveExposureInput,
} from './live.ts';
import type { Reachability } from './types.ts';

const NS = 'acme';
const pod = (
  name: string,
  labels: Record<string, string>,
  extra: {
    hostNetwork?: boolean;
    ports?: { name?: string; containerPort: number }[];
    phase?: string;
    ns?: string;
  } = {},
): V1Pod => ({
  metadata: { name, namespace: extra.ns ?? NS, labels },
  spec: {
    containers: [{ name: 'c', ...(extra.ports ? { ports: extra.ports } : {}) }],
    ...(extra.hostNetwork ? { hostNetwork: true } : {}),
  },
  status: { phase: extra.phase ?? 'Running' },
});
const np = (name: string, spec: V1NetworkPolicy['spec']): V1NetworkPolicy => ({
  metadata: { name, namespace: NS },
  spec,
});
const svc = (name: string, spec: V1Service['spec']): V1Service => ({
  metadata: { name, namespace: NS },
  spec,
});
const ingress = (name: string, service: string): V1Ingress => ({
  metadata: { name, namespace: NS },
  spec: {
    rules: [
      { http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service } } }] } },
    ],
  },
});
const fromSpace = {
  _from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } } }],
};
/** The operator's own policy for `reports` and the Space's default deny. */
const contained = [
  np('space-default-deny', { podSelector: {}, policyTypes: ['Ingress'] }),
  np('app-reports', {
    podSelector: { matchLabels: { app: 'reports' } },
    policyTypes: ['Ingress'],
    ingress: [fromSpace],
  }),
];
const openPublic = np('open', {
  podSelector: { matchLabels: { app: 'reports', tier: 'public' } },
  ingress: [{}],
});

const input = (over: Partial<LiveExposureInput>): LiveExposureInput => ({
  namespace: NS,
  selector: { app: 'reports' },
  port: 5000,
  pods: [],
  services: [],
  ingresses: [],
  policies: contained,
  namespaces: [{ name: NS }, { name: 'other' }],
  allowed: { spaceNamespace: NS, cidrs: [] },
  ownService: 'reports',
  ...over,
});

describe('liveExposure', () => {
  it.each<{ name: string; over: Partial<LiveExposureInput>; widened: string[]; bypasses: string[] }>([
    { name: 'no pod: the stand-in pod is contained', over: {}, widened: [], bypasses: [] },
    {
      name: 'open policy on {app, tier: public}, no pod carries tier: stand-in and live pods contained',
      over: { policies: [...contained, openPublic], pods: [pod('r1', { app: 'reports' })] },
      widened: [],
      bypasses: [],
    },
    {
      name: 'attack 6: a live pod with both labels is exposed by the open policy',
      over: { policies: [...contained, openPublic], pods: [pod('r1', { app: 'reports', tier: 'public' })] },
      widened: ['acme/open'],
      bypasses: [],
    },
    {
      name: 'one of two pods exposed is enough',
      over: {
        policies: [...contained, openPublic],
        pods: [pod('r1', { app: 'reports' }), pod('r2', { app: 'reports', tier: 'public' })],
      },
      widened: ['acme/open'],
      bypasses: [],
    },
    {
      name: 'a finished pod does not count',
      over: {
        policies: [...contained, openPublic],
        pods: [
          pod('r1', { app: 'reports' }),
          pod('r2', { app: 'reports', tier: 'public' }, { phase: 'Succeeded' }),
        ],
      },
      widened: [],
      bypasses: [],
    },
    {
      name: 'selector moved onto pods an open policy selects (no pod of the old selector)',
      over: {
        selector: { role: 'x' },
        policies: [
          ...contained,
          np('open-x', { podSelector: { matchLabels: { role: 'x' } }, ingress: [{}] }),
        ],
        pods: [pod('x1', { role: 'x' })],
      },
      widened: ['acme/open-x'],
      bypasses: [],
    },
    {
      name: 'named port resolves on the real pod: open on port "metrics" the pod declares',
      over: {
        policies: [
          ...contained,
          np('metrics', {
            podSelector: { matchLabels: { app: 'reports' } },
            ingress: [{ ports: [{ port: 'metrics' }] }],
          }),
        ],
        pods: [pod('r1', { app: 'reports' }, { ports: [{ name: 'metrics', containerPort: 9090 }] })],
      },
      widened: ['acme/metrics'],
      bypasses: [],
    },
    {
      // By the specification it admits nothing; kube-router v2.1.0 admits every port.
      name: 'named port the pod does not declare widens (as some plugins read it)',
      over: {
        policies: [
          ...contained,
          np('metrics', {
            podSelector: { matchLabels: { app: 'reports' } },
            ingress: [{ ports: [{ port: 'metrics' }] }],
          }),
        ],
        pods: [pod('r1', { app: 'reports' }, { ports: [{ name: 'web', containerPort: 5000 }] })],
      },
      widened: ['acme/metrics'],
      bypasses: [],
    },
    {
      name: 'a NodePort Service on another label the pods carry',
      over: {
        pods: [pod('r1', { app: 'reports', billing: 'yes' })],
        services: [svc('np', { type: 'NodePort', selector: { billing: 'yes' } })],
      },
      widened: [],
      bypasses: ['Service acme/np'],
    },
    {
      name: 'a LoadBalancer and externalIPs Service',
      over: {
        pods: [pod('r1', { app: 'reports' })],
        services: [
          svc('lb', { type: 'LoadBalancer', selector: { app: 'reports' } }),
          svc('ext', { selector: { app: 'reports' }, externalIPs: ['198.51.100.7'] }),
        ],
      },
      widened: [],
      bypasses: ['Service acme/lb', 'Service acme/ext'],
    },
    {
      name: 'a NodePort selecting other pods, a ClusterIP, a selector-less Service and the own Service do not',
      over: {
        pods: [pod('r1', { app: 'reports' })],
        services: [
          svc('np', { type: 'NodePort', selector: { app: 'other' } }),
          svc('plain', { selector: { app: 'reports' } }),
          svc('manual', { type: 'NodePort' }),
          svc('reports', { type: 'LoadBalancer', selector: { app: 'reports' } }),
        ],
      },
      widened: [],
      bypasses: [],
    },
    {
      name: "an Ingress to a tenant's ClusterIP Service selecting the pods",
      over: {
        pods: [pod('r1', { app: 'reports' })],
        services: [svc('mine', { selector: { app: 'reports' } })],
        ingresses: [ingress('in', 'mine'), ingress('elsewhere', 'nothing')],
      },
      widened: [],
      bypasses: ['Ingress acme/in'],
    },
    {
      name: 'a hostNetwork pod the selector matches',
      over: { pods: [pod('h1', { app: 'reports' }, { hostNetwork: true })] },
      widened: [],
      bypasses: ['Pod acme/h1'],
    },
  ])('$name', ({ over, widened, bypasses }) => {
    const got = liveExposure(input(over));
    expect(got.widened.map((w) => w.policy)).toEqual(widened);
    expect(got.bypasses.map((b) => b.object)).toEqual(bypasses);
    if (bypasses.length > 0) expect(got.reachableFrom.some((e) => e.source === 'any')).toBe(true);
  });

  it('evaluates pods of one signature once and reports the live pods', () => {
    const calls: string[] = [];
    const reachOf = (p: { labels: Record<string, string> }): Reachability => {
      calls.push(JSON.stringify(p.labels));
      return { isolated: true, rules: [] };
    };
    const got = liveExposure(
      input({
        pods: [
          pod('a', { app: 'reports' }),
          pod('b', { app: 'reports' }),
          pod('c', { app: 'reports', v: '2' }),
        ],
        reachOf,
      }),
    );
    expect(got.pods).toEqual(['a', 'b', 'c']);
    expect(calls).toHaveLength(2);
  });

  it('lists the reach of every pod in reachableFrom, once each', () => {
    const got = liveExposure(
      input({
        policies: [...contained, openPublic],
        pods: [pod('r1', { app: 'reports' }), pod('r2', { app: 'reports', tier: 'public' })],
      }),
    );
    const sources = got.reachableFrom.map((e) => `${e.policy} ${e.source}`);
    expect(sources).toContain('acme/open any');
    expect(sources).toContain(`acme/app-reports namespace/${NS}`);
    expect(new Set(sources).size).toBe(sources.length);
  });
});

describe('ingressBackends', () => {
  it('reads the default backend and every path, once each', () => {
    const ing: V1Ingress = {
      spec: {
        defaultBackend: { service: { name: 'a' } },
        rules: [
          { http: { paths: [{ pathType: 'Prefix', backend: { service: { name: 'b' } } }] } },
          { http: { paths: [{ pathType: 'Prefix', backend: { service: { name: 'a' } } }] } },
          { host: 'x' },
        ],
      },
    };
    expect(ingressBackends(ing)).toEqual(['a', 'b']);
  });
});

describe('hostNetworkReach', () => {
  it('lists running hostNetwork pods outside the exempt namespaces, sorted', () => {
    const pods = [
      pod('z', {}, { hostNetwork: true, ns: 'ingress' }),
      pod('a', {}, { hostNetwork: true, ns: 'ingress' }),
      pod('proxy', {}, { hostNetwork: true, ns: 'kube-system' }),
      pod('op', {}, { hostNetwork: true, ns: 'spaces-system' }),
      pod('done', {}, { hostNetwork: true, ns: 'ingress', phase: 'Failed' }),
      pod('plain', {}, { ns: 'ingress' }),
    ];
    expect(hostNetworkReach(pods, ['kube-system', 'spaces-system'])).toEqual([
      { namespace: 'ingress', name: 'a' },
      { namespace: 'ingress', name: 'z' },
    ]);
  });

  it('names at most five pods and counts the rest', () => {
    const pods = Array.from({ length: 7 }, (_, i) => ({ namespace: 'n', name: `p${i}` }));
    const text = hostNetworkText(pods);
    expect(text).toMatch(/^7 hostNetwork pod\(s\)/);
    expect(text).toContain('n/p4, and 2 more');
    expect(text).not.toContain('n/p5');
  });
});

describe('selectorConflicts', () => {
  const internal = { name: 'billing', selector: { app: 'billing' }, internal: true };
  it.each<{
    name: string;
    selector: Record<string, string>;
    pods: V1Pod[];
    want: { app: string; pod?: string }[];
  }>([
    { name: 'same selector', selector: { app: 'billing' }, pods: [], want: [{ app: 'billing' }] },
    {
      name: 'a subset of its labels',
      selector: { app: 'billing', tier: 'web' },
      pods: [],
      want: [{ app: 'billing' }],
    },
    {
      name: 'another key: a pod may carry both',
      selector: { team: 'x' },
      pods: [],
      want: [{ app: 'billing' }],
    },
    { name: 'disjoint values', selector: { app: 'www' }, pods: [], want: [] },
    {
      name: 'a live pod both select',
      selector: { team: 'x' },
      pods: [pod('p1', { app: 'billing', team: 'x' })],
      want: [{ app: 'billing', pod: 'p1' }],
    },
  ])('$name', ({ selector, pods, want }) => {
    const others = [internal, { name: 'other-external', selector: { app: 'billing' }, internal: false }];
    expect(selectorConflicts({ name: 'www', selector, internal: false }, others, pods)).toEqual(want);
  });

  it("an external App's selector may not reach any process of an internal App (its workers too)", () => {
    const jobs = {
      name: 'jobs',
      selector: { app: 'jobs', process: 'web' },
      internal: true,
      processes: [{ app: 'jobs', process: 'web' }, { role: 'worker' }] as Record<string, string>[],
    };
    const www = { name: 'www', selector: { role: 'worker' }, internal: false };
    expect(selectorConflicts(www, [jobs], [])).toEqual([{ app: 'jobs' }]);
    expect(selectorConflicts(www, [jobs], [pod('w1', { role: 'worker', app: 'x' })])).toEqual([
      { app: 'jobs', pod: 'w1' },
    ]);
    expect(selectorConflicts({ ...www, selector: { role: 'other', app: 'www' } }, [jobs], [])).toEqual([]);
  });

  it('selectorsOverlap is symmetric', () => {
    expect(selectorsOverlap({ a: '1' }, { a: '2' })).toBe(false);
    expect(selectorsOverlap({ a: '2' }, { a: '1' })).toBe(false);
    expect(selectorsOverlap({ a: '1' }, { b: '2' })).toBe(true);
  });
});
