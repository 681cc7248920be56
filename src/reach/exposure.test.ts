import type { V1NetworkPolicy, V1NetworkPolicySpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { evaluateIngress } from './evaluator.ts';
import { summarize, widening } from './exposure.ts';
import type { NamespaceInfo, Reachability } from './types.ts';

const np = (name: string, spec: V1NetworkPolicySpec): V1NetworkPolicy => ({
  metadata: { name, namespace: 'acme' },
  spec,
});
const namespaces: NamespaceInfo[] = [{ name: 'acme' }, { name: 'beta', labels: { team: 'b' } }];
const reachOf = (...policies: V1NetworkPolicy[]): Reachability =>
  evaluateIngress({ pod: { namespace: 'acme', labels: { app: 'billing' } }, policies, namespaces });
const from = (...peers: NonNullable<V1NetworkPolicySpec['ingress']>[number]['_from'] & object) =>
  np('p', { podSelector: {}, ingress: [{ _from: peers }] });
const allowed = { spaceNamespace: 'acme', cidrs: ['192.168.0.0/16'] };
const metaName = 'kubernetes.io/metadata.name';

describe('widening', () => {
  it.each<{ name: string; policies: V1NetworkPolicy[]; reasons: RegExp[] }>([
    {
      name: 'no policy → open to all',
      policies: [],
      reasons: [/no NetworkPolicy with policyType Ingress selects the pod/],
    },
    { name: 'deny all', policies: [np('deny', { podSelector: {} })], reasons: [] },
    {
      name: 'ingress [{}]',
      policies: [np('p', { podSelector: {}, ingress: [{}] })],
      reasons: [/^spec.ingress\[0\].from is empty$/],
    },
    {
      name: 'pods of the space namespace',
      policies: [from({ podSelector: { matchLabels: { role: 'web' } } })],
      reasons: [],
    },
    {
      name: 'the space namespace by metadata.name',
      policies: [from({ namespaceSelector: { matchLabels: { [metaName]: 'acme' } } })],
      reasons: [],
    },
    {
      name: 'the space namespace by metadata.name In',
      policies: [
        from({
          namespaceSelector: { matchExpressions: [{ key: metaName, operator: 'In', values: ['acme'] }] },
        }),
      ],
      reasons: [],
    },
    {
      name: 'space namespace + other by metadata.name In',
      policies: [
        from({
          namespaceSelector: {
            matchExpressions: [{ key: metaName, operator: 'In', values: ['acme', 'beta'] }],
          },
        }),
      ],
      reasons: [/namespaceSelector matches namespace "beta"/],
    },
    {
      name: 'the space by a forgeable label',
      policies: [from({ namespaceSelector: { matchLabels: { 'privatespaces.dev/space': 'acme' } } })],
      reasons: [/namespaceSelector "privatespaces.dev\/space=acme" can match namespaces other than "acme"/],
    },
    {
      name: 'namespaceSelector {} ',
      policies: [from({ namespaceSelector: {} })],
      reasons: [/matches namespace "beta"/, /namespaceSelector "<all>" can match/],
    },
    {
      name: 'pods of another namespace',
      policies: [from({ namespaceSelector: { matchLabels: { [metaName]: 'beta' } }, podSelector: {} })],
      reasons: [/^spec.ingress\[0\].from\[0\] selects pods of namespace "beta"$/],
    },
    {
      name: 'cidr inside the allowed',
      policies: [from({ ipBlock: { cidr: '192.168.50.0/24' } })],
      reasons: [],
    },
    {
      name: 'cidr outside the allowed',
      policies: [from({ ipBlock: { cidr: '10.0.0.0/8' } })],
      reasons: [/ipBlock admits 10.0.0.0\/8 outside the allowed ranges \(allowed: 192.168.0.0\/16\)/],
    },
    {
      name: 'a wide block with all but the allowed excepted',
      policies: [
        from({
          ipBlock: {
            cidr: '192.0.0.0/8',
            except: [
              '192.0.0.0/9',
              '192.128.0.0/11',
              '192.160.0.0/13',
              '192.176.0.0/12',
              '192.169.0.0/16',
              '192.170.0.0/15',
              '192.172.0.0/14',
              '192.192.0.0/10',
            ],
          },
        }),
      ],
      reasons: [],
    },
    {
      name: '0.0.0.0/0 except a little',
      policies: [from({ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } })],
      reasons: [/ipBlock admits 0.0.0.0\/5, 8.0.0.0\/7, 11.0.0.0\/8, … \(\d+ ranges\)/],
    },
    {
      // Nothing by the specification, every port on kube-router v2.1.0: judged as the plugin acts.
      name: 'ports that resolve to nothing widen as if they were every port',
      policies: [np('p', { podSelector: {}, ingress: [{ ports: [{ port: 'none' }] }] })],
      reasons: [/named ports match no port of the pod/],
    },
  ])('$name', ({ policies, reasons }) => {
    const pod = { namespace: 'acme', labels: { app: 'billing' }, ports: [] };
    const found = widening({ reach: evaluateIngress({ pod, policies, namespaces }), allowed });
    expect(found).toHaveLength(reasons.length);
    found.forEach((w, i) => expect(w.reason).toMatch(reasons[i]!));
  });

  it('names the policy, the field and the source', () => {
    expect(
      widening({ reach: reachOf(from({ podSelector: {} }, { ipBlock: { cidr: '8.8.8.0/24' } })), allowed }),
    ).toEqual([
      {
        policy: 'acme/p',
        field: 'spec.ingress[0].from[1]',
        source: { kind: 'cidr', cidr: '8.8.8.0/24', except: [] },
        reason: expect.stringContaining('8.8.8.0/24'),
      },
    ]);
  });
});

describe('summarize', () => {
  it('renders every kind of source', () => {
    const r = reachOf(
      np('a', {
        podSelector: {},
        ingress: [
          {
            _from: [
              { namespaceSelector: { matchLabels: { team: 'b' } } },
              { podSelector: { matchLabels: { role: 'web' } } },
              {
                namespaceSelector: { matchLabels: { env: 'x' } },
                podSelector: { matchLabels: { role: 'web' } },
              },
              { ipBlock: { cidr: '192.168.50.0/24' } },
              { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12'] } },
            ],
            ports: [{ port: 80 }, { port: 8000, endPort: 8080 }, { protocol: 'UDP' }, { port: 'http' }],
          },
        ],
      }),
      np('b', { podSelector: {}, ingress: [{}, {}] }),
    );
    const ports = '80/TCP,8000-8080/TCP,*/UDP,http/TCP';
    expect(summarize(r)).toEqual([
      { source: 'namespace/beta', kind: 'namespace', ports, policy: 'acme/a' },
      { source: 'namespaceSelector/team=b', kind: 'namespaceSelector', ports, policy: 'acme/a' },
      { source: 'pods/acme/role=web', kind: 'pods', ports, policy: 'acme/a' },
      { source: 'namespaceSelector/env=x/pods/role=web', kind: 'namespaceSelector', ports, policy: 'acme/a' },
      { source: 'cidr/192.168.50.0/24', kind: 'cidr', ports, policy: 'acme/a' },
      { source: 'cidr/0.0.0.0/0 except 10.0.0.0/8,172.16.0.0/12', kind: 'cidr', ports, policy: 'acme/a' },
      { source: 'any', kind: 'any', policy: 'acme/b' },
    ]);
  });

  it('an unisolated pod is reachable from any', () => {
    expect(summarize(reachOf())).toEqual([
      { source: 'any', kind: 'any', policy: expect.stringContaining('no NetworkPolicy') },
    ]);
  });

  it('a deny-all pod is reachable from nothing', () => {
    expect(summarize(reachOf(np('deny', { podSelector: {} })))).toEqual([]);
  });
});
