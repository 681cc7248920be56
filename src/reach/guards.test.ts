import type { V1Namespace, V1NetworkPolicy, V1NetworkPolicySpec, V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  guardNamespaceLabels,
  guardNetworkPolicy,
  guardNetworkPolicyRemoval,
  guardPodSpec,
  type GuardContext,
  type RemovalContext,
} from './guards.ts';

const APP = 'privatespaces.dev/app';
const np = (name: string, spec: V1NetworkPolicySpec): V1NetworkPolicy => ({
  metadata: { name, namespace: 'acme' },
  spec,
});
const ctx: GuardContext = {
  space: { name: 'acme', namespace: 'acme' },
  internalApps: [{ name: 'billing', podLabels: { [APP]: 'billing' } }],
  externalApps: [{ name: 'www', selector: { [APP]: 'www' }, trustedIPRanges: ['203.0.113.0/24'] }],
  peeringCIDRs: ['192.168.0.0/16'],
  operatorManaged: false,
  namespaces: [{ name: 'acme' }, { name: 'beta', labels: { team: 'b' } }],
};
const spaceSelector = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'acme' } } };
const ingressFrom = (podSelector: V1NetworkPolicySpec['podSelector'], ...peers: object[]) =>
  np('p', { podSelector, ingress: [{ _from: peers }] });

describe('guardNetworkPolicy', () => {
  it.each<{ name: string; policy: V1NetworkPolicy; context?: Partial<GuardContext> }>([
    { name: 'deny all', policy: np('deny', { podSelector: {} }) },
    { name: 'egress only', policy: np('egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }) },
    { name: 'from the space namespace by metadata.name', policy: ingressFrom({}, spaceSelector) },
    {
      name: 'from pods of the same namespace',
      policy: ingressFrom({}, { podSelector: { matchLabels: { role: 'web' } } }),
    },
    {
      name: 'from a peered CIDR',
      policy: ingressFrom({ matchLabels: { [APP]: 'billing' } }, { ipBlock: { cidr: '192.168.10.0/24' } }),
    },
    {
      name: 'open, but selecting another app',
      policy: np('open', { podSelector: { matchLabels: { [APP]: 'other' } }, ingress: [{}] }),
    },
    {
      name: 'external app from a trusted range',
      policy: ingressFrom({ matchLabels: { [APP]: 'www' } }, { ipBlock: { cidr: '203.0.113.0/25' } }),
    },
    {
      name: 'outside every Space',
      policy: np('open', { podSelector: {}, ingress: [{}] }),
      context: { space: undefined },
    },
    {
      name: 'written by the operator',
      policy: np('open', { podSelector: {}, ingress: [{}] }),
      context: { operatorManaged: true },
    },
  ])('allows: $name', ({ policy, context }) => {
    expect(guardNetworkPolicy(policy, { ...ctx, ...context })).toEqual({ allowed: true });
  });

  it.each<{ name: string; policy: V1NetworkPolicy; message: string | RegExp }>([
    {
      name: 'ingress [{}] on every pod',
      policy: np('allow-all', { podSelector: {}, ingress: [{}] }),
      message:
        'NetworkPolicy acme/allow-all would admit any source to internal app "billing" (spec.ingress[0].from is empty): ' +
        'an internal app accepts connections only from its Space and its peered networks',
    },
    {
      name: 'from a namespace selected by a forgeable label',
      policy: ingressFrom(
        { matchLabels: { [APP]: 'billing' } },
        { namespaceSelector: { matchLabels: { 'privatespaces.dev/space': 'acme' } } },
      ),
      message:
        /would admit every pod of namespaces "privatespaces.dev\/space=acme" to internal app "billing" \(spec.ingress\[0\].from\[0\].namespaceSelector .* can match namespaces other than "acme"/,
    },
    {
      name: 'from another namespace',
      policy: ingressFrom({}, { namespaceSelector: { matchLabels: { team: 'b' } } }),
      message:
        /would admit every pod of namespace "beta" to internal app "billing" .*\(and 1 more rule\(s\) that widen it\)/,
    },
    {
      name: 'from a CIDR that is not peered',
      policy: ingressFrom({}, { ipBlock: { cidr: '10.0.0.0/8' } }),
      message:
        /would admit addresses in 10.0.0.0\/8 to internal app "billing" \(spec.ingress\[0\].from\[0\].ipBlock admits 10.0.0.0\/8 outside/,
    },
    {
      name: 'a selector narrower than the app still concerns it',
      policy: np('web-open', {
        podSelector: { matchLabels: { [APP]: 'billing', 'privatespaces.dev/process': 'web' } },
        ingress: [{}],
      }),
      message: /acme\/web-open would admit any source to internal app "billing"/,
    },
    {
      name: 'an external app beyond its trusted ranges',
      policy: ingressFrom({ matchLabels: { [APP]: 'www' } }, { ipBlock: { cidr: '0.0.0.0/0' } }),
      message:
        /would admit addresses in 0.0.0.0\/0 to app "www" .*: an app accepts connections only from its Space and the Space's trusted IP ranges/,
    },
  ])('denies: $name', ({ policy, message }) => {
    const d = guardNetworkPolicy(policy, ctx);
    expect(d.allowed).toBe(false);
    if (!d.allowed) expect(d.message).toMatch(message);
  });
});

describe('guardNetworkPolicyRemoval', () => {
  const denyAll = np('deny-all', { podSelector: {} });
  const appPolicy = np('billing', {
    podSelector: { matchLabels: { [APP]: 'billing' } },
    ingress: [{ _from: [spaceSelector] }],
  });
  const webOnly = np('web-only', {
    podSelector: { matchLabels: { [APP]: 'billing', 'privatespaces.dev/process': 'web' } },
  });
  const rctx = (policies: V1NetworkPolicy[], extra: Partial<RemovalContext> = {}): RemovalContext => ({
    ...ctx,
    externalApps: [],
    policies,
    ...extra,
  });

  it.each<{ name: string; old: V1NetworkPolicy; next?: V1NetworkPolicy; context: RemovalContext }>([
    { name: 'another policy still isolates the app', old: denyAll, context: rctx([denyAll, appPolicy]) },
    {
      name: 'the policy never concerned the app',
      old: np('x', { podSelector: { matchLabels: { [APP]: 'other' } } }),
      context: rctx([]),
    },
    {
      name: 'an egress-only policy',
      old: np('e', { podSelector: {}, policyTypes: ['Egress'] }),
      context: rctx([]),
    },
    {
      name: 'the replacement still isolates it',
      old: denyAll,
      next: np('deny-all', { podSelector: {}, ingress: [{ _from: [spaceSelector] }] }),
      context: rctx([denyAll]),
    },
    {
      name: 'the namespace is terminating',
      old: denyAll,
      context: rctx([denyAll], { namespaceTerminating: true }),
    },
    { name: 'the operator deletes it', old: denyAll, context: rctx([denyAll], { operatorManaged: true }) },
    { name: 'outside every Space', old: denyAll, context: rctx([denyAll], { space: undefined }) },
  ])('allows: $name', ({ old, next, context }) => {
    expect(guardNetworkPolicyRemoval(old, next, context)).toEqual({ allowed: true });
  });

  it.each<{
    name: string;
    old: V1NetworkPolicy;
    next?: V1NetworkPolicy;
    context: RemovalContext;
    message: RegExp;
  }>([
    {
      name: 'deleting the last isolating policy',
      old: denyAll,
      context: rctx([denyAll]),
      message:
        /^Deleting NetworkPolicy acme\/deny-all would leave pods of internal app "billing" selected by no NetworkPolicy/,
    },
    {
      name: 'narrowing its podSelector away from the app',
      old: denyAll,
      next: np('deny-all', { podSelector: { matchLabels: { [APP]: 'other' } } }),
      context: rctx([denyAll]),
      message: /^Changing NetworkPolicy acme\/deny-all would leave/,
    },
    {
      name: 'turning it into egress only',
      old: denyAll,
      next: np('deny-all', { podSelector: {}, policyTypes: ['Egress'] }),
      context: rctx([denyAll]),
      message: /^Changing NetworkPolicy acme\/deny-all/,
    },
    {
      name: 'what remains isolates only some of the app pods',
      old: denyAll,
      context: rctx([denyAll, webOnly]),
      message: /internal app "billing"/,
    },
  ])('denies: $name', ({ old, next, context, message }) => {
    const d = guardNetworkPolicyRemoval(old, next, context);
    expect(d.allowed).toBe(false);
    if (!d.allowed) expect(d.message).toMatch(message);
  });
});

describe('guardPodSpec', () => {
  const billing = { [APP]: 'billing', 'privatespaces.dev/process': 'web' };
  const plain: V1PodSpec = { containers: [{ name: 'web', image: 'i', ports: [{ containerPort: 8080 }] }] };
  const withHostPort = (hostPort: number): V1PodSpec => ({
    containers: [{ name: 'web', image: 'i', ports: [{ containerPort: 8080, hostPort }] }],
  });

  it.each<{ name: string; labels: Record<string, string>; spec: V1PodSpec; context?: Partial<GuardContext> }>(
    [
      { name: 'an internal app pod without host access', labels: billing, spec: plain },
      { name: 'hostNetwork false', labels: billing, spec: { ...plain, hostNetwork: false } },
      { name: 'hostPort 0 (unset)', labels: { [APP]: 'www' }, spec: withHostPort(0) },
      { name: 'hostPID and hostIPC false', labels: {}, spec: { ...plain, hostPID: false, hostIPC: false } },
      {
        name: 'outside every Space',
        labels: billing,
        spec: { ...plain, hostNetwork: true },
        context: { space: undefined },
      },
    ],
  )('allows: $name', ({ labels, spec, context }) => {
    expect(guardPodSpec('Deployment', 'billing-web', labels, spec, { ...ctx, ...context })).toEqual({
      allowed: true,
    });
  });

  it.each<{ name: string; kind: string; spec: V1PodSpec; message: string | RegExp }>([
    {
      name: 'hostNetwork',
      kind: 'Deployment',
      spec: { ...plain, hostNetwork: true },
      message:
        'Deployment acme/billing-web would run pods of internal app "billing" with spec.template.spec.hostNetwork: true: ' +
        "such a pod answers on its node's address, outside NetworkPolicy, and an internal app accepts connections only " +
        'from its Space and its peered networks',
    },
    {
      name: 'hostPort on a container of a Pod',
      kind: 'Pod',
      spec: {
        containers: [
          { name: 'a', image: 'i' },
          { name: 'b', image: 'i', ports: [{ containerPort: 80 }, { containerPort: 81, hostPort: 8081 }] },
        ],
      },
      message:
        /Pod acme\/billing-web would run pods of internal app "billing" with spec.containers\[1\].ports\[1\].hostPort: 8081/,
    },
    {
      name: 'hostPort on an init container of a CronJob',
      kind: 'CronJob',
      spec: {
        ...plain,
        initContainers: [
          { name: 'init', image: 'i', ports: [{ containerPort: 53, hostPort: 53, protocol: 'UDP' }] },
        ],
      },
      message: /with spec.jobTemplate.spec.template.spec.initContainers\[0\].ports\[0\].hostPort: 53/,
    },
  ])('denies: $name', ({ kind, spec, message }) => {
    const d = guardPodSpec(kind, 'billing-web', billing, spec, ctx);
    expect(d.allowed).toBe(false);
    if (!d.allowed) expect(d.message).toMatch(message);
  });

  // Any pod of a Space's namespace, whatever its labels: a host-network pod reaches every internal app
  // from the node's address, which NetworkPolicy does not govern.
  it.each<{ name: string; labels: Record<string, string>; spec: V1PodSpec; field: string }>([
    {
      name: 'hostNetwork, unrelated labels',
      labels: { role: 'x' },
      spec: { ...plain, hostNetwork: true },
      field: 'spec.hostNetwork: true',
    },
    {
      name: 'hostNetwork, an external app',
      labels: { [APP]: 'www' },
      spec: { ...plain, hostNetwork: true },
      field: 'spec.hostNetwork: true',
    },
    {
      name: 'hostPID, no labels',
      labels: {},
      spec: { ...plain, hostPID: true },
      field: 'spec.hostPID: true',
    },
    { name: 'hostIPC', labels: {}, spec: { ...plain, hostIPC: true }, field: 'spec.hostIPC: true' },
    {
      name: 'hostPort',
      labels: {},
      spec: withHostPort(9000),
      field: 'spec.containers[0].ports[0].hostPort: 9000',
    },
  ])('denies for any pod in a Space: $name', ({ labels, spec, field }) => {
    expect(guardPodSpec('Pod', 'p', labels, spec, ctx)).toEqual({
      allowed: false,
      message:
        `Pod acme/p would run pods with ${field} in the namespace of Space "acme": such a pod shares its ` +
        "node's network, processes or ports, outside NetworkPolicy, and from there reaches every internal app " +
        'of every Space; remove the field (host access is not allowed in a Space)',
    });
  });

  it("names the internal app when the labels match its selector, so relabelling changes the verdict's words", () => {
    const d = guardPodSpec('Pod', 'p', billing, { ...plain, hostPID: true }, ctx);
    expect(!d.allowed && d.message).toContain(
      'would run pods of internal app "billing" with spec.hostPID: true',
    );
  });
});

describe('guardNamespaceLabels', () => {
  const SPACE = 'privatespaces.dev/space';
  const spaces = [{ name: 'acme', namespace: 'acme' }];
  const ns = (name: string, labels: Record<string, string> = {}): V1Namespace => ({
    metadata: { name, labels },
  });
  const tenant = { userIsOperator: false };
  const operator = { userIsOperator: true };

  it.each<{ name: string; ns: V1Namespace; old?: V1Namespace; user: { userIsOperator: boolean } }>([
    { name: 'a namespace with no Space label', ns: ns('beta'), user: tenant },
    { name: 'a label naming no Space', ns: ns('beta', { [SPACE]: 'nowhere' }), user: tenant },
    {
      name: 'an unchanged claim that predates the Space',
      ns: ns('beta', { [SPACE]: 'acme', x: '1' }),
      old: ns('beta', { [SPACE]: 'acme' }),
      user: tenant,
    },
    {
      name: 'other labels of the Space namespace',
      ns: ns('acme', { [SPACE]: 'acme', team: 'a' }),
      old: ns('acme', { [SPACE]: 'acme' }),
      user: tenant,
    },
    {
      name: 'the operator labels the Space namespace',
      ns: ns('acme', { [SPACE]: 'acme' }),
      old: ns('acme'),
      user: operator,
    },
    {
      name: 'the operator relabels the Space namespace',
      ns: ns('acme'),
      old: ns('acme', { [SPACE]: 'acme' }),
      user: operator,
    },
    {
      name: 'creating the Space namespace with its own label',
      ns: ns('acme', { [SPACE]: 'acme' }),
      user: tenant,
    },
    { name: 'creating the Space namespace without the label', ns: ns('acme'), user: tenant },
  ])('allows: $name', ({ ns: n, old, user }) => {
    expect(guardNamespaceLabels(n, old, spaces, user)).toEqual({ allowed: true });
  });

  it.each<{
    name: string;
    ns: V1Namespace;
    old?: V1Namespace;
    user: { userIsOperator: boolean };
    message: string | RegExp;
  }>([
    {
      name: 'another namespace claims the Space on create',
      ns: ns('evil', { [SPACE]: 'acme' }),
      user: tenant,
      message:
        'Namespace evil may not carry label privatespaces.dev/space=acme: Space "acme" lives in namespace "acme", ' +
        "and tools that find a Space's namespace by this label would take evil for it",
    },
    {
      name: 'another namespace claims the Space on update',
      ns: ns('evil', { [SPACE]: 'acme' }),
      old: ns('evil'),
      user: tenant,
      message: /^Namespace evil may not carry/,
    },
    {
      name: 'even the operator may not label an impostor',
      ns: ns('evil', { [SPACE]: 'acme' }),
      old: ns('evil'),
      user: operator,
      message: /^Namespace evil may not carry/,
    },
    {
      name: 'removing the label from the Space namespace',
      ns: ns('acme'),
      old: ns('acme', { [SPACE]: 'acme' }),
      user: tenant,
      message:
        'Namespace acme is the namespace of Space "acme": removing label privatespaces.dev/space=acme is reserved to ' +
        'spaces-operator, which keeps it at privatespaces.dev/space=acme',
    },
    {
      name: 'changing the label of the Space namespace',
      ns: ns('acme', { [SPACE]: 'other' }),
      old: ns('acme', { [SPACE]: 'acme' }),
      user: tenant,
      message: /setting label privatespaces.dev\/space=other \(was acme\) is reserved to spaces-operator/,
    },
    {
      name: 'creating the Space namespace with a wrong label',
      ns: ns('acme', { [SPACE]: 'other' }),
      user: tenant,
      message: /setting label privatespaces.dev\/space=other is reserved/,
    },
  ])('denies: $name', ({ ns: n, old, user, message }) => {
    const d = guardNamespaceLabels(n, old, spaces, user);
    expect(d.allowed).toBe(false);
    if (!d.allowed) expect(d.message).toMatch(message);
  });
});
