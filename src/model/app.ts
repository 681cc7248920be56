// An App's children: the Service fronting its web process and the NetworkPolicy admitting
// exactly who may reach it. Pure and deterministic (sorted lists), so re-applying is a no-op.
//
//   internal:  Service type ClusterIP (never NodePort, LoadBalancer or externalIPs);
//              ingress from the Space's namespace (any port) + each ACTIVE peering CIDR (web port).
//   external:  Service type LoadBalancer, loadBalancerSourceRanges = trusted IP ranges and
//              externalTrafficPolicy Local (client source IPs reach the policy);
//              ingress from the Space's namespace (any port) + each trusted range (web port).
// The Space's namespace is selected by kubernetes.io/metadata.name, which no tenant can forge.
//
// Only the web process (processes.ts) gets the Service and that policy. With DNS discovery on,
// every other process gets a policy `app-<app>.<process>` admitting the Space's namespace on
// every port and protocol (pods of the Space connect to each other directly, as Heroku's dynos
// do) and nothing else: peers and trusted ranges reach the web process only.
import type { V1ServiceSpec } from '@kubernetes/client-node';
import type { App } from '../api/v1alpha1/app.ts';
import type { Peering } from '../api/v1alpha1/peering.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { sortCidrs } from './cidr.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, NAMESPACE_NAME_LABEL, WEB_PROCESS, managedLabels } from './labels.ts';
import { hasDnsDiscovery } from './dns.ts';
import { activePeeringCidrs } from './peering.ts';
import { appProcesses, webProcess, type AppProcess } from './processes.ts';
import { spaceNamespaceName } from './space.ts';
import {
  childMeta,
  type NetworkPolicyIngressRule,
  type NetworkPolicyObject,
  type NetworkPolicyPeer,
  type ServiceObject,
} from './types.ts';

export const WEB_PORT_NAME = 'web';

/**
 * The web pods' labels: the web process's selector (processes.ts); in the older form
 * spec.selector.matchLabels, or {privatespaces.dev/app: <name>} when absent or empty.
 */
export function appSelector(app: Pick<App, 'metadata' | 'spec'>): Record<string, string> {
  return webProcess(app).selector;
}

/** The web process's port: processes[web].port, else spec.port. */
export function appPort(app: Pick<App, 'metadata' | 'spec'>): number {
  return webProcess(app).port ?? app.spec.port;
}

export function appServiceName(app: Pick<App, 'metadata'>): string {
  return app.metadata.name;
}

export function appPolicyName(app: Pick<App, 'metadata'>): string {
  return `app-${app.metadata.name}`;
}

export function isInternal(app: Pick<App, 'spec'>): boolean {
  return app.spec.internalRouting === true;
}

/** The sources, besides the Space, admitted to the web port: active peerings or trusted ranges. */
export function admittedCidrs(app: App, space: Space, peerings: readonly Peering[]): string[] {
  if (isInternal(app))
    return activePeeringCidrs(peerings, app.metadata.namespace ?? spaceNamespaceName(space));
  return sortCidrs(space.spec.trustedIPRanges);
}

function serviceSpec(app: App, space: Space): V1ServiceSpec {
  const port = appPort(app);
  const base: V1ServiceSpec = {
    selector: appSelector(app),
    ports: [{ name: WEB_PORT_NAME, protocol: 'TCP', port, targetPort: port }],
  };
  if (isInternal(app)) return { type: 'ClusterIP', ...base };
  const ranges = sortCidrs(space.spec.trustedIPRanges);
  return {
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    // An empty list would mean "everyone" to a load balancer: leave it out, the policy admits only the Space.
    ...(ranges.length > 0 ? { loadBalancerSourceRanges: ranges } : {}),
    ...base,
  };
}

export function appService(app: App, space: Space): ServiceObject {
  const ns = app.metadata.namespace ?? spaceNamespaceName(space);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(app, appServiceName(app), managedLabels(space.metadata.name, app.metadata.name), ns),
    spec: serviceSpec(app, space),
  };
}

function ingressRules(app: App, space: Space, peerings: readonly Peering[]): NetworkPolicyIngressRule[] {
  const fromSpace: NetworkPolicyPeer = {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: spaceNamespaceName(space) } },
  };
  const rules: NetworkPolicyIngressRule[] = [{ from: [fromSpace] }];
  const cidrs = admittedCidrs(app, space, peerings);
  if (cidrs.length > 0) {
    rules.push({
      from: cidrs.map((cidr) => ({ ipBlock: { cidr } })),
      ports: [{ protocol: 'TCP', port: appPort(app) }],
    });
  }
  return rules;
}

export function appNetworkPolicy(app: App, space: Space, peerings: readonly Peering[]): NetworkPolicyObject {
  const ns = app.metadata.namespace ?? spaceNamespaceName(space);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(app, appPolicyName(app), managedLabels(space.metadata.name, app.metadata.name), ns),
    spec: {
      podSelector: { matchLabels: appSelector(app) },
      policyTypes: ['Ingress'],
      ingress: ingressRules(app, space, peerings),
    },
  };
}

/** `app-<app>.<process>`: a dot, so it can never be another App's `app-<name>`. */
export function processPolicyName(app: Pick<App, 'metadata'>, process: string): string {
  return `${appPolicyName(app)}.${process}`;
}

/** The processes other than web that get a discovery policy (DNS discovery on, not fir). */
export function discoveryProcesses(app: App, space: Space): AppProcess[] {
  if (!hasDnsDiscovery(app, space)) return [];
  return appProcesses(app).filter((p) => p.name !== WEB_PROCESS);
}

/** The Space's namespace, on every port and protocol, to one non-web process's pods. */
export function processNetworkPolicy(app: App, space: Space, process: AppProcess): NetworkPolicyObject {
  const ns = app.metadata.namespace ?? spaceNamespaceName(space);
  const fromSpace: NetworkPolicyPeer = {
    namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: spaceNamespaceName(space) } },
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(
      app,
      processPolicyName(app, process.name),
      managedLabels(space.metadata.name, app.metadata.name),
      ns,
    ),
    spec: {
      podSelector: { matchLabels: process.selector },
      policyTypes: ['Ingress'],
      ingress: [{ from: [fromSpace] }],
    },
  };
}

/**
 * Service, then the web NetworkPolicy, then one policy per discovery process (sorted). Only
 * peerings of the App's namespace whose status.phase is active count.
 */
export function appChildren(
  app: App,
  space: Space,
  peerings: readonly Peering[],
): [ServiceObject, NetworkPolicyObject, ...NetworkPolicyObject[]] {
  return [
    appService(app, space),
    appNetworkPolicy(app, space, peerings),
    ...discoveryProcesses(app, space).map((p) => processNetworkPolicy(app, space, p)),
  ];
}

/** An owner reference naming an App as the object's controller (what the operator writes on an App's children). */
export const isAppController = (r: { kind?: string; controller?: boolean }): boolean =>
  r.controller === true && r.kind === 'App';

/**
 * Policies the operator made for this App's processes that it no longer wants (process removed,
 * discovery turned off): named `app-<app>.<process>`, carrying the managed-by label AND a
 * controller owner reference to this App (its uid), so nothing another writer made is ever
 * listed, not even a user's policy named like ours or labelled like ours.
 */
export function staleProcessPolicies<
  T extends {
    metadata?: {
      name?: string;
      labels?: Record<string, string>;
      ownerReferences?: { kind?: string; uid?: string; controller?: boolean }[];
    };
  },
>(app: App, space: Space, live: readonly T[]): T[] {
  const want = new Set(discoveryProcesses(app, space).map((p) => processPolicyName(app, p.name)));
  const prefix = `${appPolicyName(app)}.`;
  const uid = app.metadata.uid;
  if (!uid) return [];
  return live.filter((np) => {
    const name = np.metadata?.name ?? '';
    if (!name.startsWith(prefix) || want.has(name)) return false;
    if (np.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return false;
    return (np.metadata?.ownerReferences ?? []).some((r) => isAppController(r) && r.uid === uid);
  });
}
