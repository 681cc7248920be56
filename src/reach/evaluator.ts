// Who can open connections to a pod, per the NetworkPolicy specification
// (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
// - A pod that no policy with Ingress among its policyTypes selects is not isolated: open to every source.
// - policyTypes absent or empty defaults to Ingress, plus Egress when the policy has egress rules.
// - Otherwise the pod admits the union of the ingress rules of every such policy (policies add up).
// - A rule admits its sources on its ports; `from` absent or empty = every source, `ports` absent or
//   empty = every port.
// - A peer: `podSelector` alone = those pods of the policy's namespace; `namespaceSelector` alone = every
//   pod of the matching namespaces; both in one peer = the matching pods of the matching namespaces (AND);
//   `ipBlock` = addresses in `cidr` and in no `except` (meant for cluster-external addresses; taken literally).
//
// Objects from the typed client carry an ingress rule's peers as `_from`; raw JSON (watch events,
// AdmissionReview) as `from`. Both are read.
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
} from '@kubernetes/client-node';
import { blockAdmits } from '../model/cidr.ts';
import { asReachInput } from './errors.ts';
import { portsAdmit, resolvePorts } from './ports.ts';
import {
  matchesNamespace,
  matchesSelector,
  namespaceLabels,
  pinnedNamespaces,
  surelySelects,
} from './selector.ts';
import {
  NOT_ISOLATED,
  type ContainerPortInfo,
  type Labels,
  type NamespaceInfo,
  type Reachability,
  type ReachRule,
  type Source,
} from './types.ts';

export type PodInfo = { namespace: string; labels: Labels; ports?: ContainerPortInfo[] };
export type IngressInput = {
  pod: PodInfo;
  /** The NetworkPolicies of the pod's namespace, at least every one that selects it (a superset is fine: others are ignored, as are policies of other namespaces). */
  policies: readonly V1NetworkPolicy[];
  /** The cluster's namespaces, to expand namespaceSelectors. */
  namespaces: readonly NamespaceInfo[];
};

/** Where a policy's peers are resolved: its namespace, the known namespaces, the target pod's ports. */
export type RuleContext = {
  namespace: string;
  namespaces: readonly NamespaceInfo[];
  podPorts?: readonly ContainerPortInfo[] | undefined;
};

export function policyName(policy: V1NetworkPolicy, fallbackNamespace: string): string {
  const name = policy.metadata?.name ?? `${policy.metadata?.generateName ?? ''}<generated>`;
  return `${policy.metadata?.namespace ?? fallbackNamespace}/${name}`;
}

/** policyTypes as the apiserver defaults them: Ingress always, Egress only with egress rules. */
export function policyTypes(policy: V1NetworkPolicy): string[] {
  const given = policy.spec?.policyTypes ?? [];
  if (given.length > 0) return given;
  return (policy.spec?.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

export function affectsIngress(policy: V1NetworkPolicy): boolean {
  return policyTypes(policy).includes('Ingress');
}

export function evaluateIngress(input: IngressInput): Reachability {
  const { pod } = input;
  const selecting = input.policies.filter(
    (p) =>
      (p.metadata?.namespace ?? pod.namespace) === pod.namespace &&
      affectsIngress(p) &&
      matchesSelector(p.spec?.podSelector, pod.labels),
  );
  if (selecting.length === 0) {
    return {
      isolated: false,
      rules: [{ source: { kind: 'any' }, ports: 'all', policy: NOT_ISOLATED, field: '' }],
    };
  }
  const ctx: RuleContext = { namespace: pod.namespace, namespaces: input.namespaces, podPorts: pod.ports };
  return { isolated: true, rules: selecting.flatMap((p) => policyIngressRules(p, ctx)) };
}

/**
 * The ingress rules one policy contributes to any pod it selects (none when its policyTypes leave out
 * Ingress), whether or not it selects a given pod.
 */
export function policyIngressRules(policy: V1NetworkPolicy, ctx: RuleContext): ReachRule[] {
  if (!affectsIngress(policy)) return [];
  const namespace = policy.metadata?.namespace ?? ctx.namespace;
  const name = policyName(policy, ctx.namespace);
  return (policy.spec?.ingress ?? []).flatMap((rule, i) => {
    const field = `spec.ingress[${i}]`;
    const ports = resolvePorts(rule.ports, ctx.podPorts);
    const peers = peersOf(rule);
    if (peers.length === 0) return [{ source: { kind: 'any' }, ports, policy: name, field: `${field}.from` }];
    return peers.flatMap((peer, j) =>
      peerSources(peer, { ...ctx, namespace }).map((source) => ({
        source,
        ports,
        policy: name,
        field: `${field}.from[${j}]`,
      })),
    );
  });
}

function peersOf(rule: V1NetworkPolicyIngressRule): V1NetworkPolicyPeer[] {
  return rule._from ?? (rule as { from?: V1NetworkPolicyPeer[] }).from ?? [];
}

/** The sources one peer admits. */
export function peerSources(peer: V1NetworkPolicyPeer, ctx: RuleContext): Source[] {
  if (peer.ipBlock) return [{ kind: 'cidr', cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] }];
  if (peer.namespaceSelector) return namespacePeerSources(peer, ctx);
  if (peer.podSelector) return [{ kind: 'pods', namespace: ctx.namespace, selector: peer.podSelector }];
  // A peer with no field set is refused by the apiserver; should one appear, read it as widely as possible.
  return [{ kind: 'any' }];
}

// The namespaces by name, with their place in the list: a selector pinned to names looks only
// those up instead of walking every namespace of the cluster (each Space's own policies are).
const indexes = new WeakMap<readonly NamespaceInfo[], Map<string, number>>();
function candidates(
  namespaces: readonly NamespaceInfo[],
  pinned: string[] | undefined,
): readonly NamespaceInfo[] {
  if (pinned === undefined) return namespaces;
  let index = indexes.get(namespaces);
  if (!index) indexes.set(namespaces, (index = new Map(namespaces.map((n, i) => [n.name, i]))));
  const at = pinned.map((n) => index.get(n)).filter((i): i is number => i !== undefined);
  return [...new Set(at)].sort((a, b) => a - b).map((i) => namespaces[i]!);
}

function namespacePeerSources(peer: V1NetworkPolicyPeer, ctx: RuleContext): Source[] {
  const nsSelector = peer.namespaceSelector ?? {};
  const pinned = pinnedNamespaces(nsSelector);
  const matched = candidates(ctx.namespaces, pinned)
    .filter((ns) => matchesNamespace(nsSelector, ns))
    .map((n) => n.name);
  const podSelector = peer.podSelector;
  const expanded: Source[] = matched.map((name) =>
    podSelector ? { kind: 'pods', namespace: name, selector: podSelector } : { kind: 'namespace', name },
  );
  // Keep the raw selector unless the expansion is final: a selector pinned by kubernetes.io/metadata.name
  // (which only the apiserver sets) to names that all matched can never match another namespace.
  if (pinned !== undefined && pinned.every((n) => matched.includes(n))) return expanded;
  const raw: Source = podSelector
    ? { kind: 'namespaceSelector', selector: nsSelector, podSelector }
    : { kind: 'namespaceSelector', selector: nsSelector };
  return [...expanded, raw];
}

/** A concrete connection: from a pod (namespace and labels) and/or an address, to a port. */
export type ConnectionQuery = {
  namespace?: string;
  /** Labels of the source's namespace; lets raw namespaceSelector sources answer too. */
  namespaceLabels?: Labels;
  /** Labels of the source pod (default none when `namespace` is given). */
  podLabels?: Labels;
  ip?: string;
  port?: number | string;
  protocol?: string;
};

/** Whether the reach admits the connection. Without `port`: whether it admits some port of the protocol. */
export function admits(reach: Reachability, query: ConnectionQuery): boolean {
  return reach.rules.some(
    (r) => sourceAdmits(r.source, query) && portsAdmit(r.ports, query.port, query.protocol),
  );
}

function sourceAdmits(source: Source, q: ConnectionQuery): boolean {
  switch (source.kind) {
    case 'any':
      return true;
    case 'namespace':
      return q.namespace === source.name;
    case 'pods':
      return q.namespace === source.namespace && matchesSelector(source.selector, q.podLabels ?? {});
    case 'namespaceSelector':
      return namespaceSelectorAdmits(source, q);
    case 'cidr':
      return ipAdmitted(source, q.ip);
  }
}

/** A raw namespaceSelector source (with its optional podSelector) against a pod's namespace and labels. */
function namespaceSelectorAdmits(
  source: Extract<Source, { kind: 'namespaceSelector' }>,
  q: ConnectionQuery,
): boolean {
  return (
    q.namespace !== undefined &&
    namespaceMatches(source.selector, q.namespace, q.namespaceLabels) &&
    matchesSelector(source.podSelector, q.podLabels ?? {})
  );
}

/** Whether an ipBlock admits the address; no address, no admission. */
function ipAdmitted(block: { cidr: string; except: readonly string[] }, ip: string | undefined): boolean {
  return ip !== undefined && asReachInput(() => blockAdmits(block, ip));
}

/** With the namespace's labels unknown, only a selector that holds whatever they are can say yes. */
function namespaceMatches(selector: V1LabelSelector, name: string, labels: Labels | undefined): boolean {
  if (labels === undefined) return surelySelects(selector, namespaceLabels({ name }));
  return matchesSelector(selector, namespaceLabels({ name, labels }));
}
