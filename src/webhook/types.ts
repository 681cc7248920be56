// The webhook's vocabulary: AdmissionReview v1 (the parts we read and write), the per-kind
// handler shape (Capsule-style: onCreate / onUpdate / onDelete, "nothing" means allow) and the
// Lookup through which handlers see the cluster, so every handler is a pure, testable function.
import type {
  V1Namespace,
  V1NetworkPolicy,
  V1Node,
  V1Pod,
  V1Service,
  V1ServiceCIDR,
} from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';

export type Awaitable<T> = T | Promise<T>;

/** A Kubernetes object as the webhook receives it: only the envelope is typed. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** admission.k8s.io/v1 AdmissionRequest (the fields we use). */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  warnings?: string[];
  status?: { code: number; reason: string; message: string };
}

/** A handler's verdict. A handler that returns nothing allows the request. */
export type Decision = { allowed: true; warnings?: string[] } | { allowed: false; message: string };

export interface AdmissionContext<T extends KubeObject = KubeObject> {
  request: AdmissionRequest;
  /** The new object (CREATE, UPDATE) or the object being deleted (DELETE: oldObject). */
  object: T;
  /** UPDATE: the object before the change. */
  oldObject?: T;
}

export type OperationHandler<T extends KubeObject> = (
  ctx: AdmissionContext<T>,
) => Awaitable<Decision | undefined | void>;

/** What one kind does on each operation. Missing operation = allow. */
export interface KindHandler<T extends KubeObject = KubeObject> {
  onCreate?: OperationHandler<T>;
  onUpdate?: OperationHandler<T>;
  onDelete?: OperationHandler<T>;
}

/** Handlers keyed by `group/Kind` (`/Service` for the core group, `apps/Deployment`, …). */
export type HandlerMap = Record<string, KindHandler<never>>;

export function kindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

/**
 * The cluster as the handlers see it. The operator backs it with its informer caches
 * (synchronous reads); tests back it with fixtures or direct API reads.
 */
export interface Lookup {
  /** The Space of that name (a Space's namespace has the Space's name). */
  space(name: string): Awaitable<Space | undefined>;
  /** Every Space (a Space's domain may not overlap another's, nor take another Space's App's custom domain). */
  spaces(): Awaitable<readonly Space[]>;
  appsIn(namespace: string): Awaitable<readonly App[]>;
  peeringsIn(namespace: string): Awaitable<readonly Peering[]>;
  namespaces(): Awaitable<readonly V1Namespace[]>;
  /** Every NetworkPolicy of the namespace (removing the last one that isolates an app is refused). */
  networkPoliciesIn(namespace: string): Awaitable<readonly V1NetworkPolicy[]>;
  /**
   * Optional: a Service by name. When present, an Ingress or route backend that is a
   * tenant-made Service selecting an internal app's pods is refused too, not only the
   * Service the operator renders for the app.
   */
  service?(namespace: string, name: string): Awaitable<V1Service | undefined>;
  /** Every Service of the namespace (not only the operator's). */
  servicesIn(namespace: string): Awaitable<readonly V1Service[]>;
  /** The live pods of the namespace (exposure is judged on real labels and host networking). */
  podsIn(namespace: string): Awaitable<readonly V1Pod[]>;
  /** Nodes (pod CIDRs, addresses) and ServiceCIDRs: ranges no Peering may cover. */
  nodes(): Awaitable<readonly V1Node[]>;
  serviceCIDRs(): Awaitable<readonly V1ServiceCIDR[]>;
}

export const allow: Decision = { allowed: true };

export function deny(message: string): Decision {
  return { allowed: false, message };
}
