import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicySpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { admits, evaluateIngress, peerSources, policyTypes, type ConnectionQuery } from './evaluator.ts';
import { matchesNamespace } from './selector.ts';
import { NOT_ISOLATED, type NamespaceInfo, type Reachability } from './types.ts';

const np = (name: string, spec: V1NetworkPolicySpec, namespace = 'acme'): V1NetworkPolicy => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});

const namespaces: NamespaceInfo[] = [
  { name: 'acme', labels: { 'privatespaces.dev/space': 'acme' } },
  { name: 'beta', labels: { team: 'b' } },
  { name: 'gamma', labels: { team: 'b', env: 'prod' } },
];
const pod = { namespace: 'acme', labels: { app: 'billing' } };
const reach = (...policies: V1NetworkPolicy[]): Reachability =>
  evaluateIngress({ pod, policies, namespaces });

const denyAll = np('deny-all', { podSelector: {}, policyTypes: ['Ingress'] });
const fromBeta: ConnectionQuery = { namespace: 'beta', podLabels: { app: 'x' } };
const fromAcme: ConnectionQuery = { namespace: 'acme', podLabels: { app: 'x' } };
const fromAcmeWeb: ConnectionQuery = { namespace: 'acme', podLabels: { role: 'web' } };
const fromGammaWeb: ConnectionQuery = { namespace: 'gamma', podLabels: { role: 'web' } };
const fromInternet: ConnectionQuery = { ip: '8.8.8.8' };
const fromPrivate: ConnectionQuery = { ip: '10.1.2.3' };

describe('policyTypes defaulting', () => {
  it.each<{ name: string; spec: V1NetworkPolicySpec; want: string[] }>([
    { name: 'absent, no egress → Ingress', spec: { podSelector: {} }, want: ['Ingress'] },
    {
      name: 'empty list, no egress → Ingress',
      spec: { podSelector: {}, policyTypes: [] },
      want: ['Ingress'],
    },
    {
      name: 'absent, egress rules → Ingress, Egress',
      spec: { podSelector: {}, egress: [{}] },
      want: ['Ingress', 'Egress'],
    },
    { name: 'given → as given', spec: { podSelector: {}, policyTypes: ['Egress'] }, want: ['Egress'] },
  ])('$name', ({ spec, want }) => {
    expect(policyTypes(np('p', spec))).toEqual(want);
  });
});

describe('evaluateIngress: the specification, case by case', () => {
  it.each<{
    name: string;
    policies: V1NetworkPolicy[];
    isolated: boolean;
    yes: ConnectionQuery[];
    no: ConnectionQuery[];
  }>([
    {
      name: 'selected by no policy → not isolated, open to all',
      policies: [np('other', { podSelector: { matchLabels: { app: 'web' } }, ingress: [] })],
      isolated: false,
      yes: [fromBeta, fromAcme, fromInternet],
      no: [],
    },
    {
      name: 'a policy in another namespace does not count',
      policies: [np('deny-all', { podSelector: {} }, 'beta')],
      isolated: false,
      yes: [fromBeta, fromInternet],
      no: [],
    },
    {
      name: 'policyTypes [Egress] only → does not isolate for ingress',
      policies: [np('egress-only', { podSelector: {}, policyTypes: ['Egress'], ingress: [] })],
      isolated: false,
      yes: [fromBeta, fromInternet],
      no: [],
    },
    {
      name: 'policyTypes [Egress] with ingress rules → the ingress rules are ignored',
      policies: [denyAll, np('egress-only', { podSelector: {}, policyTypes: ['Egress'], ingress: [{}] })],
      isolated: true,
      yes: [],
      no: [fromBeta, fromAcme, fromInternet],
    },
    {
      name: 'ingress absent (policyTypes defaulted) → deny all',
      policies: [np('deny', { podSelector: {} })],
      isolated: true,
      yes: [],
      no: [fromAcme, fromBeta, fromInternet],
    },
    {
      name: 'ingress [] → deny all',
      policies: [np('deny', { podSelector: {}, ingress: [] })],
      isolated: true,
      yes: [],
      no: [fromAcme, fromBeta, fromInternet],
    },
    {
      name: 'ingress [{}] → allow all',
      policies: [np('allow', { podSelector: {}, ingress: [{}] })],
      isolated: true,
      yes: [fromAcme, fromBeta, fromInternet],
      no: [],
    },
    {
      name: 'from [] → all sources',
      policies: [np('allow', { podSelector: {}, ingress: [{ _from: [] }] })],
      isolated: true,
      yes: [fromAcme, fromBeta, fromInternet],
      no: [],
    },
    {
      name: 'from [{namespaceSelector: {}}] → every pod of every namespace, no external address',
      policies: [np('all-ns', { podSelector: {}, ingress: [{ _from: [{ namespaceSelector: {} }] }] })],
      isolated: true,
      yes: [fromAcme, fromBeta, { namespace: 'not-yet-created' }],
      no: [fromInternet],
    },
    {
      name: 'podSelector alone → those pods of the policy namespace',
      policies: [
        np('web', {
          podSelector: {},
          ingress: [{ _from: [{ podSelector: { matchLabels: { role: 'web' } } }] }],
        }),
      ],
      isolated: true,
      yes: [fromAcmeWeb],
      no: [fromAcme, fromGammaWeb, fromInternet],
    },
    {
      name: 'namespaceSelector alone → every pod of the matching namespaces',
      policies: [
        np('team-b', {
          podSelector: {},
          ingress: [{ _from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }],
        }),
      ],
      isolated: true,
      yes: [fromBeta, fromGammaWeb],
      no: [fromAcme, fromInternet],
    },
    {
      name: 'podSelector AND namespaceSelector in one peer',
      policies: [
        np('and', {
          podSelector: {},
          ingress: [
            {
              _from: [
                {
                  namespaceSelector: { matchLabels: { env: 'prod' } },
                  podSelector: { matchLabels: { role: 'web' } },
                },
              ],
            },
          ],
        }),
      ],
      isolated: true,
      yes: [fromGammaWeb],
      no: [fromAcmeWeb, { namespace: 'gamma', podLabels: { role: 'db' } }, fromBeta],
    },
    {
      name: 'podSelector OR namespaceSelector in two peers',
      policies: [
        np('or', {
          podSelector: {},
          ingress: [
            {
              _from: [
                { namespaceSelector: { matchLabels: { env: 'prod' } } },
                { podSelector: { matchLabels: { role: 'web' } } },
              ],
            },
          ],
        }),
      ],
      isolated: true,
      yes: [fromGammaWeb, { namespace: 'gamma', podLabels: { role: 'db' } }, fromAcmeWeb],
      no: [fromAcme, fromBeta],
    },
    {
      name: 'ipBlock 0.0.0.0/0 with except',
      policies: [
        np('ext', {
          podSelector: {},
          ingress: [{ _from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }],
        }),
      ],
      isolated: true,
      yes: [fromInternet],
      no: [fromPrivate, fromBeta, { ip: '2001:db8::1' }],
    },
    {
      name: 'two policies add up (union)',
      policies: [
        denyAll,
        np('from-beta', {
          podSelector: { matchLabels: { app: 'billing' } },
          ingress: [
            { _from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'beta' } } }] },
          ],
        }),
        np('from-private', { podSelector: {}, ingress: [{ _from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] }),
      ],
      isolated: true,
      yes: [fromBeta, fromPrivate],
      no: [fromAcme, fromGammaWeb, fromInternet],
    },
    {
      name: 'a policy that selects other pods adds nothing',
      policies: [denyAll, np('web-open', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] })],
      isolated: true,
      yes: [],
      no: [fromAcme, fromBeta, fromInternet],
    },
    {
      name: 'raw JSON (`from`, not `_from`) reads the same',
      policies: [
        np('raw', {
          podSelector: {},
          ingress: [{ from: [{ podSelector: { matchLabels: { role: 'web' } } }] } as never],
        }),
      ],
      isolated: true,
      yes: [fromAcmeWeb],
      no: [fromBeta],
    },
  ])('$name', ({ policies, isolated, yes, no }) => {
    const r = reach(...policies);
    expect(r.isolated).toBe(isolated);
    for (const q of yes) expect(admits(r, q), JSON.stringify(q)).toBe(true);
    for (const q of no) expect(admits(r, q), JSON.stringify(q)).toBe(false);
  });

  it('a pod selected by no policy gets one open rule', () => {
    expect(reach()).toEqual({
      isolated: false,
      rules: [{ source: { kind: 'any' }, ports: 'all', policy: NOT_ISOLATED, field: '' }],
    });
  });

  it('ingress [{}] is one rule: any source, all ports, located at spec.ingress[0].from', () => {
    expect(reach(np('allow', { podSelector: {}, ingress: [{}] })).rules).toEqual([
      { source: { kind: 'any' }, ports: 'all', policy: 'acme/allow', field: 'spec.ingress[0].from' },
    ]);
  });

  it('expands a namespaceSelector and keeps the raw selector for namespaces to come', () => {
    const sel = { matchLabels: { team: 'b' } };
    const r = reach(np('team-b', { podSelector: {}, ingress: [{ _from: [{ namespaceSelector: sel }] }] }));
    expect(r.rules.map((x) => x.source)).toEqual([
      { kind: 'namespace', name: 'beta' },
      { kind: 'namespace', name: 'gamma' },
      { kind: 'namespaceSelector', selector: sel },
    ]);
    expect(r.rules.map((x) => x.field)).toEqual(Array(3).fill('spec.ingress[0].from[0]'));
    expect(admits(r, { namespace: 'delta', namespaceLabels: { team: 'b' } })).toBe(true);
    expect(admits(r, { namespace: 'delta' })).toBe(false);
  });

  it('drops the raw selector when kubernetes.io/metadata.name pins it to namespaces that all exist', () => {
    const sel = { matchLabels: { 'kubernetes.io/metadata.name': 'acme' } };
    const r = reach(np('space', { podSelector: {}, ingress: [{ _from: [{ namespaceSelector: sel }] }] }));
    expect(r.rules.map((x) => x.source)).toEqual([{ kind: 'namespace', name: 'acme' }]);
  });

  it('keeps the raw selector when it pins a namespace that does not exist yet', () => {
    const sel = { matchLabels: { 'kubernetes.io/metadata.name': 'later' } };
    const r = reach(np('later', { podSelector: {}, ingress: [{ _from: [{ namespaceSelector: sel }] }] }));
    expect(r.rules.map((x) => x.source)).toEqual([{ kind: 'namespaceSelector', selector: sel }]);
    expect(admits(r, { namespace: 'later' })).toBe(true);
  });

  it('podSelector + namespaceSelector expands to pods per namespace plus the raw pair', () => {
    const nsSel = { matchLabels: { env: 'prod' } };
    const podSel = { matchLabels: { role: 'web' } };
    const r = reach(
      np('and', {
        podSelector: {},
        ingress: [{ _from: [{ namespaceSelector: nsSel, podSelector: podSel }] }],
      }),
    );
    expect(r.rules.map((x) => x.source)).toEqual([
      { kind: 'pods', namespace: 'gamma', selector: podSel },
      { kind: 'namespaceSelector', selector: nsSel, podSelector: podSel },
    ]);
  });
});

describe('evaluateIngress: ports', () => {
  const podWithPorts = {
    ...pod,
    ports: [
      { name: 'http', containerPort: 8080 },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
      { name: 'dns', containerPort: 5353, protocol: 'UDP' },
    ],
  };
  const withPorts = (ports: NonNullable<V1NetworkPolicySpec['ingress']>[number]['ports']) =>
    evaluateIngress({
      pod: podWithPorts,
      policies: [np('p', { podSelector: {}, ingress: [{ ports }] })],
      namespaces,
    });

  it.each<{
    name: string;
    ports: Parameters<typeof withPorts>[0];
    yes: [number | string, string?][];
    no: [number | string, string?][];
  }>([
    {
      name: 'ports absent → all ports',
      ports: undefined,
      yes: [[1], [65535], [53, 'UDP'], [9, 'SCTP']],
      no: [],
    },
    { name: 'ports [] → all ports', ports: [], yes: [[1], [53, 'UDP']], no: [] },
    {
      name: 'protocol defaults to TCP',
      ports: [{ port: 80 }],
      yes: [[80], [80, 'TCP']],
      no: [[80, 'UDP'], [81]],
    },
    {
      name: 'protocol only → every port of it',
      ports: [{ protocol: 'UDP' }],
      yes: [
        [53, 'UDP'],
        [65535, 'UDP'],
      ],
      no: [[53]],
    },
    {
      name: 'endPort range',
      ports: [{ port: 32000, endPort: 32768 }],
      yes: [[32000], [32500], [32768]],
      no: [[31999], [32769]],
    },
    {
      name: 'named port resolved to the container port',
      ports: [{ port: 'http' }],
      yes: [[8080]],
      no: [[80], [9090]],
    },
    {
      name: 'named port needs the same protocol',
      ports: [{ port: 'dns' }],
      yes: [],
      no: [[5353], [5353, 'UDP']],
    },
    { name: 'named UDP port', ports: [{ port: 'dns', protocol: 'UDP' }], yes: [[5353, 'UDP']], no: [[5353]] },
    { name: 'unknown named port admits nothing', ports: [{ port: 'grpc' }], yes: [], no: [[8080], [1]] },
    {
      name: 'several entries add up',
      ports: [{ port: 80 }, { port: 'metrics' }],
      yes: [[80], [9090]],
      no: [[8080]],
    },
  ])('$name', ({ ports, yes, no }) => {
    const r = withPorts(ports);
    for (const [port, protocol] of yes)
      expect(admits(r, { ip: '1.2.3.4', port, protocol }), `${port}/${protocol}`).toBe(true);
    for (const [port, protocol] of no)
      expect(admits(r, { ip: '1.2.3.4', port, protocol }), `${port}/${protocol}`).toBe(false);
  });

  it('a rule whose ports resolve to nothing has ports []', () => {
    expect(withPorts([{ port: 'grpc' }]).rules[0]?.ports).toEqual([]);
  });

  it('named ports stay names when the pod ports are not given', () => {
    const r = evaluateIngress({
      pod,
      policies: [np('p', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })],
      namespaces,
    });
    expect(r.rules[0]?.ports).toEqual([{ protocol: 'TCP', name: 'http' }]);
    expect(admits(r, { ip: '1.2.3.4', port: 'http' })).toBe(true);
    expect(admits(r, { ip: '1.2.3.4', port: 8080 })).toBe(false);
  });

  it('without a port, admits asks for any port', () => {
    expect(admits(withPorts([{ port: 80 }]), { ip: '1.2.3.4' })).toBe(true);
    expect(admits(withPorts([{ port: 'grpc' }]), { ip: '1.2.3.4' })).toBe(false);
  });
});

describe('peerSources: a namespaceSelector pinned to names looks them up (same answer as walking every namespace)', () => {
  const NAME = 'kubernetes.io/metadata.name';
  const names = ['a', 'b', 'c', 'd', 'e'];
  const namespaces: NamespaceInfo[] = names.map((name, i) => ({
    name,
    labels: { [NAME]: name, tier: i % 2 === 0 ? 'even' : 'odd' },
  }));
  // The expansion as it was before the lookup: every namespace, in list order.
  const walked = (selector: V1LabelSelector): string[] =>
    namespaces.filter((ns) => matchesNamespace(selector, ns)).map((n) => n.name);
  const selectors: V1LabelSelector[] = [
    { matchLabels: { [NAME]: 'c' } },
    { matchLabels: { [NAME]: 'zz' } }, // no such namespace
    { matchExpressions: [{ key: NAME, operator: 'In', values: ['e', 'a', 'a', 'zz'] }] },
    { matchLabels: { [NAME]: 'b', tier: 'even' } }, // pinned, but the other label refuses it
    { matchLabels: { [NAME]: 'd', tier: 'odd' } },
    { matchLabels: { tier: 'odd' } }, // not pinned: walks
    {},
  ];
  it.each(selectors.map((s) => [JSON.stringify(s), s] as const))('%s', (_, selector) => {
    const sources = peerSources(
      { namespaceSelector: selector },
      { namespace: 'a', namespaces, podPorts: [] },
    );
    const expanded = sources.filter((s) => s.kind === 'namespace').map((s) => (s as { name: string }).name);
    expect(expanded).toEqual(walked(selector));
  });
});
