// What the handlers need to know about a namespace, read once per request through the Lookup:
// its Space, its Apps (internal ones with the labels their pods carry and the Service the
// operator renders for them), and the reach guards' context. Pure given the Lookup.
import type { V1Namespace } from '@kubernetes/client-node';
import type { App, Space } from '../../api/v1alpha1/index.ts';
import { activePeeringCidrs, appSelector, appServiceName, isInternal } from '../../model/index.ts';
import type { ExternalAppRef, GuardContext, InternalAppRef, SpaceRef } from '../../reach/guards.ts';
import type { Labels, NamespaceInfo } from '../../reach/types.ts';
import type { AdmissionRequest, KubeObject, Lookup } from '../types.ts';

/** Who the operator is, to tell its own requests apart (matchConditions normally skip them). */
export interface OperatorIdentity {
  /** `system:serviceaccount:<namespace>:<name>` */
  username: string;
}

export function isOperator(req: AdmissionRequest, op: OperatorIdentity | undefined): boolean {
  return op !== undefined && req.userInfo?.username === op.username;
}

/** The labels an app's web pods carry: its selector's matchLabels (default `privatespaces.dev/app=<name>`). */
export function appPodLabels(app: App): Labels {
  return appSelector(app);
}

/** The names of the Services that front `app`: the one the model renders, and the one its status reports. */
export function appServiceNames(app: App): string[] {
  const reported = app.status?.serviceName ? [app.status.serviceName] : [];
  return [...new Set([appServiceName(app), ...reported])];
}

export interface NamespaceView {
  namespace: string;
  space: Space | undefined;
  apps: readonly App[];
  internal: App[];
}

export async function namespaceView(lookup: Lookup, namespace: string): Promise<NamespaceView> {
  const [space, apps] = await Promise.all([lookup.space(namespace), lookup.appsIn(namespace)]);
  return { namespace, space, apps, internal: apps.filter(isInternal) };
}

/** Service name → the internal App it fronts, in the view's namespace. */
export function internalServices(view: NamespaceView): Map<string, App> {
  const m = new Map<string, App>();
  for (const app of view.internal) for (const name of appServiceNames(app)) m.set(name, app);
  return m;
}

export { selectsAppPods } from './selection.ts';

export function spaceRef(space: Space | undefined, namespace: string): SpaceRef | undefined {
  return space ? { name: space.metadata.name, namespace } : undefined;
}

export function namespaceInfo(ns: V1Namespace): NamespaceInfo {
  return { name: ns.metadata?.name ?? '', ...(ns.metadata?.labels ? { labels: ns.metadata.labels } : {}) };
}

/** Everything the reach guards ask for, for a namespace. Only ACTIVE peerings admit their CIDRs. */
export async function guardContext(
  lookup: Lookup,
  view: NamespaceView,
  operator: boolean,
): Promise<GuardContext> {
  const [peerings, namespaces] = await Promise.all([lookup.peeringsIn(view.namespace), lookup.namespaces()]);
  const trusted = view.space?.spec?.trustedIPRanges ?? [];
  const internalApps: InternalAppRef[] = view.internal.map((a) => ({
    name: a.metadata.name,
    podLabels: appPodLabels(a),
  }));
  const externalApps: ExternalAppRef[] = view.apps
    .filter((a) => !isInternal(a))
    .map((a) => ({ name: a.metadata.name, selector: appPodLabels(a), trustedIPRanges: trusted }));
  return {
    space: spaceRef(view.space, view.namespace),
    internalApps,
    externalApps,
    peeringCIDRs: activePeeringCidrs(peerings, view.namespace),
    operatorManaged: operator,
    namespaces: namespaces.map(namespaceInfo),
  };
}

export function nameOf(obj: KubeObject): string {
  return obj.metadata?.name ?? obj.metadata?.generateName ?? '';
}

export function isDeleting(obj: KubeObject): boolean {
  return obj.metadata?.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null;
}

/** An update that leaves spec alone (finalizers, labels, status) or comes while the object is deleted. */
export function specUnchanged(obj: KubeObject, old: KubeObject): boolean {
  return isDeleting(obj) || jsonEqual(obj['spec'], old['spec']);
}

/** Deep equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
