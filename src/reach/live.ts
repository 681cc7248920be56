// Exposure judged on the namespace's LIVE state, not on an imagined pod: the App's pods are the live pods
// its selector matches (while none exist, the pod its selector describes stands in for them), each
// evaluated with its real labels and container ports; what any of them admits, the App admits. Besides
// NetworkPolicies, three things put a pod beyond every policy:
// - a Service of type NodePort or LoadBalancer, or with externalIPs, selecting one of the pods (the node
//   forwards outside traffic to it);
// - an Ingress whose backend Service selects one of them (the ingress controller proxies to it);
// - a hostNetwork pod the selector matches (NetworkPolicy never applies to the host's network).
// And one thing NetworkPolicy never restricts: traffic from a node and from any hostNetwork pod
// (`hostNetworkReach`). Pure: no I/O.
import type { V1Ingress, V1NetworkPolicy, V1Pod, V1Service } from '@kubernetes/client-node';
import { evaluateIngress } from './evaluator.ts';
import {
  summarize,
  widening,
  sourceText,
  type Allowed,
  type ReachableFrom,
  type Widening,
} from './exposure.ts';
import { labelsMatch, serviceSelects } from './selector.ts';
import type { ContainerPortInfo, Labels, NamespaceInfo, Reachability } from './types.ts';

/** A pod as the exposure needs it. */
export type LivePod = {
  name: string;
  labels: Labels;
  ports: ContainerPortInfo[];
  hostNetwork: boolean;
};

/** Something other than a NetworkPolicy that makes the pods reachable from anywhere. */
export type Bypass = { object: string; field: string; reason: string };

export type LiveExposureInput = {
  namespace: string;
  /** The App's selector (matchLabels) and web port: the stand-in pod while no live pod matches. */
  selector: Labels;
  port: number;
  /** Every pod, Service, Ingress and NetworkPolicy of the namespace. */
  pods: readonly V1Pod[];
  services: readonly V1Service[];
  ingresses: readonly V1Ingress[];
  policies: readonly V1NetworkPolicy[];
  namespaces: readonly NamespaceInfo[];
  allowed: Allowed;
  /** The App's own Service (the operator's): never a bypass of itself. */
  ownService?: string;
  /**
   * A superset, in list order, of the Services whose selector matches pods with any of these
   * labels (an index: policyindex.ts); default every Service of `services`.
   */
  servicesSelecting?: (podLabels: Labels[]) => readonly V1Service[];
  /** Evaluates one pod; default `evaluateIngress`. The caller may memoise it across Apps. */
  reachOf?: (pod: LivePod) => Reachability;
};

export type LiveExposure = {
  /** Names of the live pods evaluated; empty when the stand-in pod was. */
  pods: string[];
  reachableFrom: ReachableFrom[];
  /** Policy rules admitting more than `allowed`, once each. */
  widened: Widening[];
  /** Services, Ingresses and hostNetwork pods that bypass the policies. */
  bypasses: Bypass[];
};

const TERMINAL_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

/** The pod's labels, container ports and host networking. */
export function livePodOf(pod: V1Pod): LivePod {
  return {
    name: pod.metadata?.name ?? '',
    labels: pod.metadata?.labels ?? {},
    ports: (pod.spec?.containers ?? []).flatMap((c) =>
      (c.ports ?? []).map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        containerPort: p.containerPort,
        ...(p.protocol ? { protocol: p.protocol } : {}),
      })),
    ),
    hostNetwork: pod.spec?.hostNetwork === true,
  };
}

/** The live pods `selector` matches that can still receive traffic (not Succeeded or Failed). */
export function selectedPods(pods: readonly V1Pod[], selector: Labels): LivePod[] {
  return pods
    .filter((p) => !TERMINAL_PHASES.has(p.status?.phase ?? ''))
    .filter((p) => labelsMatch(selector, p.metadata?.labels ?? {}))
    .map(livePodOf);
}

/** The pod the selector describes, with the web port: what a first pod will look like. */
export function standInPod(selector: Labels, port: number): LivePod {
  return { name: '', labels: selector, ports: [{ name: 'web', containerPort: port }], hostNetwork: false };
}

/** The field through which a Service takes outside traffic to its pods; undefined for a plain ClusterIP Service. */
function outsideField(service: V1Service): 'spec.type' | 'spec.externalIPs' | undefined {
  const type = service.spec?.type ?? 'ClusterIP';
  if (type === 'NodePort' || type === 'LoadBalancer') return 'spec.type';
  return (service.spec?.externalIPs ?? []).length > 0 ? 'spec.externalIPs' : undefined;
}

/** Why a Service takes outside traffic to its pods, or undefined for a plain ClusterIP Service. */
export function outsideReason(service: V1Service): { field: string; reason: string } | undefined {
  const field = outsideField(service);
  if (field === 'spec.type')
    return {
      field,
      reason: `is type ${service.spec?.type}: every node forwards outside traffic to the pods`,
    };
  if (field === 'spec.externalIPs')
    return {
      field,
      reason: `has externalIPs ${(service.spec?.externalIPs ?? []).join(', ')}: traffic to them reaches the pods`,
    };
  return undefined;
}

/** The Services an Ingress sends traffic to (default backend and every path). */
export function ingressBackends(ingress: V1Ingress): string[] {
  const names = [
    ingress.spec?.defaultBackend?.service?.name,
    ...(ingress.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend.service?.name)),
  ];
  return [...new Set(names.filter((n): n is string => n !== undefined && n !== ''))];
}

const signature = (pod: LivePod): string => JSON.stringify([pod.labels, pod.ports]);

// Every App reconcile walks its namespace's Services (half of them LoadBalancers in a Space of
// external Apps): the reason text is made only for a Service that selects the pods.
function serviceBypasses(
  input: LiveExposureInput,
  pods: readonly LivePod[],
  services: readonly V1Service[],
): Bypass[] {
  const out: Bypass[] = [];
  for (const s of services) {
    const name = s.metadata?.name ?? '';
    if (
      name === input.ownService ||
      !outsideField(s) ||
      !pods.some((p) => serviceSelects(s.spec?.selector, p.labels))
    )
      continue;
    const why = outsideReason(s)!;
    out.push({ object: `Service ${input.namespace}/${name}`, field: why.field, reason: why.reason });
  }
  return out;
}

function ingressBypasses(
  input: LiveExposureInput,
  pods: readonly LivePod[],
  services: readonly V1Service[],
): Bypass[] {
  if (input.ingresses.length === 0) return [];
  const selecting = new Set(
    services
      .filter((s) => pods.some((p) => serviceSelects(s.spec?.selector, p.labels)))
      .map((s) => s.metadata?.name ?? ''),
  );
  return input.ingresses.flatMap((ing): Bypass[] => {
    const via = ingressBackends(ing).filter((b) => selecting.has(b));
    if (via.length === 0) return [];
    return [
      {
        object: `Ingress ${input.namespace}/${ing.metadata?.name ?? ''}`,
        field: 'spec.rules',
        reason: `routes outside traffic to Service ${via.join(', ')}, which selects the pods`,
      },
    ];
  });
}

function hostNetworkBypasses(input: LiveExposureInput, pods: readonly LivePod[]): Bypass[] {
  return pods
    .filter((p) => p.hostNetwork)
    .map((p) => ({
      object: `Pod ${input.namespace}/${p.name}`,
      field: 'spec.hostNetwork',
      reason: "is on the node's network, where no NetworkPolicy applies",
    }));
}

/** Every bypass of the policies for these pods. */
export function bypassesOf(input: LiveExposureInput, pods: readonly LivePod[]): Bypass[] {
  // The Services that may select the pods: all of them, or what the input's index hands out.
  const services = input.servicesSelecting?.(pods.map((p) => p.labels)) ?? input.services;
  return [
    ...serviceBypasses(input, pods, services),
    ...ingressBypasses(input, pods, services),
    ...hostNetworkBypasses(input, pods),
  ];
}

function dedupeWidenings(list: readonly Widening[]): Widening[] {
  const seen = new Set<string>();
  return list.filter((w) => {
    const key = `${w.policy}\n${w.field}\n${sourceText(w.source)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function dedupeEntries(list: readonly ReachableFrom[]): ReachableFrom[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const key = JSON.stringify(e);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A bypass as a reachableFrom entry: it admits any source, whatever the policies say. */
const bypassEntry = (b: Bypass): ReachableFrom => ({
  source: 'any',
  kind: 'any',
  policy: `${b.object} ${b.field}`,
});

/**
 * Who can reach the App's pods, judged on live state: the union over its live pods (or the stand-in pod)
 * of what the policies admit, plus every bypass. Pods with the same labels and ports are evaluated once.
 */
export function liveExposure(input: LiveExposureInput): LiveExposure {
  const live = selectedPods(input.pods, input.selector);
  const pods = live.length > 0 ? live : [standInPod(input.selector, input.port)];
  const evaluate =
    input.reachOf ??
    ((pod: LivePod): Reachability =>
      evaluateIngress({
        pod: { namespace: input.namespace, labels: pod.labels, ports: pod.ports },
        policies: input.policies,
        namespaces: input.namespaces,
      }));
  const bySignature = new Map<string, Reachability>();
  for (const pod of pods) {
    const sig = signature(pod);
    if (!bySignature.has(sig)) bySignature.set(sig, evaluate(pod));
  }
  const reaches = [...bySignature.values()];
  const bypasses = bypassesOf(input, pods);
  return {
    pods: live.map((p) => p.name),
    reachableFrom: dedupeEntries([...reaches.flatMap((r) => summarize(r)), ...bypasses.map(bypassEntry)]),
    widened: dedupeWidenings(reaches.flatMap((reach) => widening({ reach, allowed: input.allowed }))),
    bypasses,
  };
}

/** A hostNetwork pod that can reach every pod of the cluster, whatever the NetworkPolicies say. */
export type HostNetworkPod = { namespace: string; name: string };

/**
 * The hostNetwork pods outside `exempt` namespaces (kube-system, the operator's own), sorted: NetworkPolicy
 * never restricts traffic from a node or from a pod on its network, so each of them reaches every
 * internal app regardless of policy.
 */
export function hostNetworkReach(pods: readonly V1Pod[], exempt: readonly string[]): HostNetworkPod[] {
  return pods
    .filter((p) => p.spec?.hostNetwork === true && !TERMINAL_PHASES.has(p.status?.phase ?? ''))
    .map((p) => ({ namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '' }))
    .filter((p) => !exempt.includes(p.namespace))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** `3 hostNetwork pod(s) can reach it regardless of NetworkPolicy: a/x, b/y, c/z` (at most `shown` named). */
export function hostNetworkText(pods: readonly HostNetworkPod[], shown = 5): string {
  const names = pods.slice(0, shown).map((p) => `${p.namespace}/${p.name}`);
  const more = pods.length > shown ? `, and ${pods.length - shown} more` : '';
  return (
    `${pods.length} hostNetwork pod(s) can reach it regardless of NetworkPolicy (a NetworkPolicy never ` +
    `restricts traffic from a node or a pod on its network): ${names.join(', ')}${more}`
  );
}

/**
 * An App as the selector-conflict check needs it: its web selector and, with process types, the
 * selectors of all its processes (an internal App's workers are as private as its web pods).
 */
export type AppSelectorRef = { name: string; selector: Labels; internal: boolean; processes?: Labels[] };

/** What makes two Apps' selectors collide: a live pod both select, or a pod both could select. */
export type SelectorConflict = { app: string; pod?: string };

/** Whether some pod could carry labels both selectors (matchLabels) require: no key with two values. */
export function selectorsOverlap(a: Labels, b: Labels): boolean {
  return Object.entries(a).every(([k, v]) => !Object.hasOwn(b, k) || b[k] === v);
}

/**
 * The internal Apps whose pods `app`'s selector could select (overlapping selectors, or a live pod both
 * select): an external App's LoadBalancer and trusted-range policy must never cover them.
 */
export function selectorConflicts(
  app: AppSelectorRef,
  others: readonly AppSelectorRef[],
  pods: readonly V1Pod[],
): SelectorConflict[] {
  return others
    .filter((o) => o.internal && o.name !== app.name)
    .flatMap((o): SelectorConflict[] => {
      const theirs = o.processes && o.processes.length > 0 ? o.processes : [o.selector];
      const both = pods.find((p) => {
        const labels = p.metadata?.labels ?? {};
        return labelsMatch(app.selector, labels) && theirs.some((sel) => labelsMatch(sel, labels));
      });
      if (both) return [{ app: o.name, pod: both.metadata?.name ?? '' }];
      return theirs.some((sel) => selectorsOverlap(app.selector, sel)) ? [{ app: o.name }] : [];
    });
}
