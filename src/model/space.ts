// A Space's children: its namespace (named as the Space) and the namespace's default-deny
// ingress policy; plus the network facts its status reports. Pure.
//
// Namespaces (issue 16, attack 1): the operator creates a Space's namespace and owns it (so it
// goes with the Space), or adopts an existing one only when that namespace opts in with the
// annotation `privatespaces.dev/adopt: <space>`; an adopted namespace is never owned, and is
// released (our labels removed), not deleted, when its Space goes. System namespaces and the
// operator's own namespace are never a Space. Every Space namespace enforces Pod Security at
// the platform's level (baseline by default: no hostNetwork, hostPort, privileged pods).
import type { Space, SpaceStatus } from '../api/v1alpha1/space.ts';
import { dynoSubnets, unavailableCIDRs } from './cidr.ts';
import { managedLabels, sortedLabels } from './labels.ts';
import { DEFAULT_SETTINGS, type PlatformSettings, type PodSecurityLevel } from './settings.ts';
import { childMeta, type NamespaceObject, type NetworkPolicyObject } from './types.ts';

/** On an existing namespace: the name of the Space allowed to adopt it. */
export const ADOPT_ANNOTATION = 'privatespaces.dev/adopt';
/** On a Space whose namespace was adopted: released (labels removed) before the Space goes. */
export const RELEASE_FINALIZER = 'privatespaces.dev/release-namespace';
export const PSA_ENFORCE = 'pod-security.kubernetes.io/enforce';
export const PSA_ENFORCE_VERSION = 'pod-security.kubernetes.io/enforce-version';
export const PSA_WARN = 'pod-security.kubernetes.io/warn';
export const PSA_AUDIT = 'pod-security.kubernetes.io/audit';
const PSA_LEVEL_KEYS = [PSA_ENFORCE, PSA_WARN, PSA_AUDIT] as const;
const PSA_RANK: Readonly<Record<string, number>> = { privileged: 0, baseline: 1, restricted: 2 };

export const DEFAULT_DENY_POLICY = 'space-default-deny';
/** Apps answer to <app>.<space>.spaces.local unless the Space sets spec.dnsDomain. */
export const DEFAULT_DNS_SUFFIX = 'spaces.local';

/** The namespace holding a Space's Apps and Peerings: the Space's own name. */
export function spaceNamespaceName(space: Pick<Space, 'metadata'>): string {
  return space.metadata.name;
}

/** spec.dnsDomain, or <space>.spaces.local. */
export function spaceDnsDomain(space: Pick<Space, 'metadata' | 'spec'>): string {
  return space.spec.dnsDomain ?? `${space.metadata.name}.${DEFAULT_DNS_SUFFIX}`;
}

/** The Pod Security labels of every Space namespace: enforce, warn and audit at `level`, latest version. */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return { [PSA_ENFORCE]: level, [PSA_ENFORCE_VERSION]: 'latest', [PSA_WARN]: level, [PSA_AUDIT]: level };
}

export interface NamespaceOptions {
  /** Pod Security level (default: the platform default, baseline). */
  podSecurity?: PodSecurityLevel;
  /** True for a namespace the Space adopted: it gets no owner reference (it outlives the Space). */
  adopted?: boolean;
  /**
   * The uid of the live namespace the write is meant for: server-side apply then fails when that
   * namespace is gone, instead of creating a new one (which no one would own).
   */
  uid?: string | undefined;
}

export function spaceNamespace(space: Space, opts: NamespaceOptions = {}): NamespaceObject {
  const name = spaceNamespaceName(space);
  const labels = sortedLabels({
    ...managedLabels(space.metadata.name),
    ...podSecurityLabels(opts.podSecurity ?? DEFAULT_SETTINGS.podSecurity),
  });
  const meta = childMeta(space, name, labels);
  if (opts.adopted) delete meta.ownerReferences;
  if (opts.uid) Object.assign(meta, { uid: opts.uid });
  return { apiVersion: 'v1', kind: 'Namespace', metadata: meta };
}

/**
 * What the operator writes to release an adopted namespace: nothing but its name (and the live
 * uid, so that the write fails rather than creates a namespace that is gone). Applied with our
 * field manager, it drops every label we set (and no one else set too).
 */
export function releasedNamespace(
  space: Pick<Space, 'metadata'>,
  uid?: string,
): { apiVersion: 'v1'; kind: 'Namespace'; metadata: { name: string; uid?: string } } {
  const name = spaceNamespaceName(space);
  return { apiVersion: 'v1', kind: 'Namespace', metadata: uid ? { name, uid } : { name } };
}

/**
 * True when every managedFields entry of `obj` is `manager`'s: the server-side apply that returned
 * it created it (an object that existed before carries its creator's entry).
 */
export function writtenOnlyBy(
  obj: { metadata?: { managedFields?: readonly { manager?: string }[] } },
  manager: string,
): boolean {
  return (obj.metadata?.managedFields ?? []).every((m) => m.manager === manager);
}

/** Why no Space may have this name (a system namespace, the operator's own), or undefined. */
export function reservedSpaceNameError(
  name: string,
  settings: Pick<PlatformSettings, 'operatorNamespace'> = DEFAULT_SETTINGS,
): string | undefined {
  if (name === settings.operatorNamespace) {
    return `Space "${name}" would take over the operator's own namespace ${name}; choose another name`;
  }
  if (name === 'default' || name.startsWith('kube-')) {
    return `Space "${name}" would take over the system namespace ${name}; choose another name`;
  }
  return undefined;
}

/** The live namespace as far as adoption is concerned. */
export interface LiveNamespace {
  metadata?: {
    name?: string;
    annotations?: Record<string, string>;
    ownerReferences?: { uid?: string; controller?: boolean }[];
    deletionTimestamp?: unknown;
  };
}

export type NamespaceClaim =
  | { kind: 'create' }
  | { kind: 'owned' }
  | { kind: 'adopt' }
  | { kind: 'refused'; reason: 'NamespaceExists' | 'NamespaceTerminating'; message: string };

/**
 * How the Space may hold its namespace: create it (absent), keep it (owned by this Space), adopt
 * it (it opts in with privatespaces.dev/adopt: <space>), or not at all (anything else: nothing is
 * written to it).
 */
export function namespaceClaim(
  space: Pick<Space, 'metadata'>,
  ns: LiveNamespace | undefined,
): NamespaceClaim {
  if (!ns) return { kind: 'create' };
  const name = spaceNamespaceName(space);
  if (ownedBy(ns, space.metadata.uid)) return { kind: 'owned' };
  if (ns.metadata?.deletionTimestamp) {
    return {
      kind: 'refused',
      reason: 'NamespaceTerminating',
      message: `namespace ${name} is being deleted; the Space takes it once it is gone`,
    };
  }
  if (ns.metadata?.annotations?.[ADOPT_ANNOTATION] === space.metadata.name) return { kind: 'adopt' };
  return {
    kind: 'refused',
    reason: 'NamespaceExists',
    message:
      `namespace ${name} already exists and the Space does not own it; to let Space ${space.metadata.name} ` +
      `adopt it, annotate the namespace ${ADOPT_ANNOTATION}=${space.metadata.name} in its own manifest ` +
      `(it is then released, not deleted, when the Space goes), or choose another Space name`,
  };
}

/** Whether the namespace has an owner reference to the object of `uid` (never for no uid). */
function ownedBy(ns: LiveNamespace, uid: string | undefined): boolean {
  return uid !== undefined && (ns.metadata?.ownerReferences ?? []).some((r) => r.uid === uid);
}

function psaProblem(key: string, value: string | undefined, level: PodSecurityLevel): string | undefined {
  if (key === PSA_ENFORCE_VERSION) {
    return value === undefined || value === 'latest' ? undefined : `${key}=${value} (must be latest)`;
  }
  if (value === undefined) return `${key} missing (must be ${level} or stricter)`;
  return (PSA_RANK[value] ?? -1) >= (PSA_RANK[level] as number)
    ? undefined
    : `${key}=${value} (must be ${level} or stricter)`;
}

/**
 * The Pod Security labels of a Space namespace that this write makes weaker or removes: each
 * level label must be `level` or stricter and the enforce version latest (or absent), unless the
 * write leaves it as it was (`old`, on UPDATE). Empty when the write is acceptable.
 */
export function podSecurityProblems(
  labels: Readonly<Record<string, string>> | undefined,
  old: Readonly<Record<string, string>> | undefined,
  level: PodSecurityLevel,
): string[] {
  const out: string[] = [];
  for (const key of [...PSA_LEVEL_KEYS, PSA_ENFORCE_VERSION]) {
    const value = labels?.[key];
    const problem = psaProblem(key, value, level);
    const unchanged = old !== undefined && old[key] === value;
    if (problem && !unchanged) out.push(problem);
  }
  return out;
}

/** Nothing reaches a pod of the Space unless an app's own policy admits it. */
export function spaceDefaultDeny(space: Space): NetworkPolicyObject {
  const ns = spaceNamespaceName(space);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: childMeta(space, DEFAULT_DENY_POLICY, managedLabels(space.metadata.name), ns),
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  };
}

/** Namespace first (the policy lives in it), then the default-deny policy. */
export function spaceChildren(
  space: Space,
  opts: NamespaceOptions = {},
): [NamespaceObject, NetworkPolicyObject] {
  return [spaceNamespace(space, opts), spaceDefaultDeny(space)];
}

/** The status fields that follow from the spec alone (the controller adds state and conditions). */
export function spaceNetworkStatus(
  space: Space,
): Required<Pick<SpaceStatus, 'namespace' | 'dynoSubnets' | 'internalRoutingCIDR' | 'unavailableCIDRs'>> {
  return {
    namespace: spaceNamespaceName(space),
    dynoSubnets: dynoSubnets(space.spec.cidr),
    internalRoutingCIDR: space.spec.cidr,
    unavailableCIDRs: unavailableCIDRs(space.spec.cidr),
  };
}
