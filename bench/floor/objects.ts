// The floor's desired objects and statuses: tools/peer/main.go's reconcile, object for object
// (the same labels, owner references, Service and NetworkPolicy specs, status fields), as pure
// functions of the cached Space, Peering and App. Conditions are the engine's (`setCondition`).
import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION } from '../../src/api/v1alpha1/constants.ts';
import { setCondition, type Condition, type ConditionInput } from '../../src/engine/index.ts';
// labels.ts alone (not the model's index, which loads the CIDR math): the floor stays Node and the engine.
import { APP_LABEL, NAMESPACE_NAME_LABEL, managedLabels as labels } from '../../src/model/labels.ts';

export { API_VERSION };
/** tools/peer/main.go's `defaultDeny` (the operator's DEFAULT_DENY_POLICY, src/model/space.ts). */
export const DEFAULT_DENY = 'space-default-deny';

/** What the floor reads of any cached object (Space, Peering, App, Namespace, child). */
export type Obj = KubernetesObject & {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    deletionTimestamp?: unknown;
    ownerReferences?: V1OwnerReference[];
  };
  spec?: any;
  status?: any;
};

/** A controller owner reference to `o` (children carry one, as controller-runtime's idiom). */
export function ownerRef(o: Obj): V1OwnerReference[] {
  const { kind = '', metadata } = o;
  const uid = metadata.uid ?? '';
  return [
    { apiVersion: API_VERSION, kind, name: metadata.name, uid, controller: true, blockOwnerDeletion: true },
  ];
}

/** The object's status conditions with Ready set (lastTransitionTime kept while its status stays). */
export function ready(o: Obj, cond: Omit<ConditionInput, 'type'>): Condition[] {
  return setCondition(
    o.status?.conditions as Condition[] | undefined,
    { type: 'Ready', ...cond },
    o.metadata.generation,
  );
}

/** The name of `o`'s controller owner of `kind` (controller-runtime's `Owns`), if any. */
export function controllerOwner(o: Obj, kind: string): string | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller && r.kind === kind)?.name;
}

/** Whether `o` is owned by `owner` (any owner reference with its uid). */
export function ownedBy(o: Obj, owner: Obj): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);
}

/** The Space's namespace (owned unless it existed before: `adopted`) and default-deny policy. */
export function spaceChildren(s: Obj, adopted: boolean): KubernetesObject[] {
  const name = s.metadata.name;
  const nsLabels = labels(name);
  for (const k of ['enforce', 'warn', 'audit']) nsLabels[`pod-security.kubernetes.io/${k}`] = 'baseline';
  nsLabels['pod-security.kubernetes.io/enforce-version'] = 'latest';
  const ns = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: nsLabels, ...(adopted ? {} : { ownerReferences: ownerRef(s) }) },
  };
  const np = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: DEFAULT_DENY, namespace: name, labels: labels(name), ownerReferences: ownerRef(s) },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  };
  return [ns, np];
}

export function spaceStatus(s: Obj, adopted: boolean): object {
  return {
    namespace: s.metadata.name,
    namespaceAdopted: adopted,
    state: 'allocated',
    internalRoutingCIDR: s.spec?.cidr,
    observedGeneration: s.metadata.generation,
    conditions: ready(s, {
      status: 'True',
      reason: 'Reconciled',
      message: 'namespace and default-deny policy applied',
    }),
  };
}

export function peeringStatus(p: Obj, space: Obj | undefined): object {
  const ns = p.metadata.namespace ?? '';
  const observedGeneration = p.metadata.generation;
  if (!space)
    return {
      phase: 'pending',
      message: `no Space ${ns}`,
      observedGeneration,
      conditions: ready(p, { status: 'False', reason: 'SpaceNotFound', message: `no Space ${ns}` }),
    };
  return {
    phase: 'active',
    routes: [space.spec?.cidr],
    message: 'admitted',
    observedGeneration,
    conditions: ready(p, { status: 'True', reason: 'Active', message: 'admitted to the internal apps' }),
  };
}

/** The CIDRs of the active Peerings, deduplicated and sorted (as the peer's Go `sort.Strings`). */
export function activeCidrs(peerings: readonly Obj[]): string[] {
  const set = new Set<string>();
  for (const p of peerings) {
    if (p.status?.phase !== 'active') continue;
    for (const c of (p.spec?.cidrs ?? []) as string[]) set.add(c);
  }
  return [...set].sort();
}

/** The App's pod selector: `spec.selector.matchLabels` when given, else `privatespaces.dev/app=<name>`. */
function selectorOf(a: Obj): Record<string, string> {
  const given = a.spec?.selector?.matchLabels as Record<string, string> | undefined;
  return given && Object.keys(given).length > 0 ? { ...given } : { [APP_LABEL]: a.metadata.name };
}

function serviceSpec(a: Obj, selector: Record<string, string>, trusted: string[]): object {
  const port = a.spec?.port as number;
  const ports = [{ name: 'web', protocol: 'TCP', port, targetPort: port }];
  if (a.spec?.internalRouting) return { selector, ports, type: 'ClusterIP' };
  return {
    selector,
    ports,
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    ...(trusted.length > 0 ? { loadBalancerSourceRanges: trusted } : {}),
  };
}

function ingressRules(ns: string, port: number, admitted: string[]): object[] {
  const rules: object[] = [
    { from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ns } } }] },
  ];
  if (admitted.length > 0)
    rules.push({
      from: admitted.map((cidr) => ({ ipBlock: { cidr } })),
      ports: [{ protocol: 'TCP', port }],
    });
  return rules;
}

/**
 * The App's Service (ClusterIP, or LoadBalancer with the Space's trusted ranges) and
 * NetworkPolicy (the Space's namespace; `peeringCidrs` for an internal App, the trusted ranges
 * for an external one, on the web port).
 */
export function appChildren(a: Obj, s: Obj, peeringCidrs: string[]): [KubernetesObject, KubernetesObject] {
  const { name, namespace: ns = '' } = a.metadata;
  const selector = selectorOf(a);
  const trusted = [...((s.spec?.trustedIPRanges ?? []) as string[])].sort();
  const admitted = a.spec?.internalRouting ? peeringCidrs : trusted;
  const metadata = (n: string): object => ({
    name: n,
    namespace: ns,
    labels: labels(ns, name),
    ownerReferences: ownerRef(a),
  });
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(name),
    spec: serviceSpec(a, selector, trusted),
  };
  const np = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(`app-${name}`),
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress'],
      ingress: ingressRules(ns, a.spec?.port as number, admitted),
    },
  };
  return [svc, np];
}

export function appStatus(a: Obj, clusterIP: string | undefined): object {
  return {
    serviceName: a.metadata.name,
    clusterIP: clusterIP ?? '',
    observedGeneration: a.metadata.generation,
    conditions: ready(a, {
      status: 'True',
      reason: 'Reconciled',
      message: 'service and network policy applied',
    }),
  };
}

export function appNoSpaceStatus(a: Obj): object {
  const message = `no Space ${a.metadata.namespace ?? ''}`;
  return {
    observedGeneration: a.metadata.generation,
    conditions: ready(a, { status: 'False', reason: 'SpaceNotFound', message }),
  };
}
