// The shapes the evaluator produces. Everything here is plain data: JSON-serialisable, no classes.
import type { V1LabelSelector } from '@kubernetes/client-node';

export type Labels = Readonly<Record<string, string>>;

/** The label the apiserver sets on every namespace to the namespace's own name; nobody can forge it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A namespace as the evaluator needs it. `kubernetes.io/metadata.name` is implied if missing. */
export type NamespaceInfo = { name: string; labels?: Labels };

/** A container port of the pod whose reach is evaluated (used to resolve named ports). */
export type ContainerPortInfo = { name?: string; containerPort: number; protocol?: string };

/**
 * Who a rule admits.
 * - `any`: every source (a rule whose `from` is absent or empty, or a pod no policy isolates).
 * - `namespace`: every pod of an existing namespace matched by a `namespaceSelector` alone.
 * - `namespaceSelector`: the raw selector (and the peer's `podSelector`, if any), kept when it could match
 *   namespaces beyond the expansion, e.g. ones that do not exist yet.
 * - `pods`: pods matching `selector` in one namespace (a `podSelector` alone: the policy's namespace; with a
 *   `namespaceSelector`: each matching existing namespace).
 * - `cidr`: an `ipBlock`, taken literally.
 */
export type Source =
  | { kind: 'any' }
  | { kind: 'namespace'; name: string }
  | { kind: 'namespaceSelector'; selector: V1LabelSelector; podSelector?: V1LabelSelector }
  | { kind: 'pods'; namespace: string; selector: V1LabelSelector }
  | { kind: 'cidr'; cidr: string; except: string[] };

/**
 * Ports a rule admits. Numbers are inclusive ranges (`port === endPort` for a single port; a
 * NetworkPolicyPort with only a protocol becomes 1-65535). A named port stays a name only when the pod's
 * container ports were not given; otherwise it is resolved to numbers (or dropped when nothing matches).
 */
export type PortRange =
  { protocol: string; port: number; endPort: number } | { protocol: string; name: string };

/**
 * One admitted (source, ports) pair. `policy` is `namespace/name` of the policy that contributes it (or
 * {@link NOT_ISOLATED}); `field` is where in that policy it comes from, e.g. `spec.ingress[0].from[1]`.
 * `ports: []` means the rule's ports resolved to nothing, so it admits no connection.
 */
export type ReachRule = { source: Source; ports: PortRange[] | 'all'; policy: string; field: string };

/** Who can open connections to a pod: the union of `rules`. */
export type Reachability = { isolated: boolean; rules: ReachRule[] };

/** The `policy` of the single rule of a pod that no Ingress policy selects. */
export const NOT_ISOLATED = '(no NetworkPolicy isolates the pod for ingress)';
