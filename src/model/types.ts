// The model's vocabulary: field errors, and the complete objects it renders for server-side apply.
import type { V1ServiceSpec } from '@kubernetes/client-node';
import { API_VERSION } from '../api/v1alpha1/constants.ts';

/** One problem with one field, e.g. { field: 'spec.internalRouting', message: '...' }. */
export interface FieldError {
  field: string;
  message: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

export interface KubeMeta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/** A complete object for server-side apply: apiVersion, kind, metadata.name/namespace/labels. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMeta;
  [key: string]: unknown;
}

export interface NamespaceObject extends KubeObject {
  apiVersion: 'v1';
  kind: 'Namespace';
}

export interface ServiceObject extends KubeObject {
  apiVersion: 'v1';
  kind: 'Service';
  spec: V1ServiceSpec;
}

/**
 * networking.k8s.io/v1 NetworkPolicy spec as JSON (the parts we write). Not client-node's
 * V1NetworkPolicySpec: that class renames `from` to `_from`, and these objects go to the API as is.
 */
export interface NetworkPolicyPeer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes: ('Ingress' | 'Egress')[];
  ingress?: NetworkPolicyIngressRule[];
}

export interface NetworkPolicyObject extends KubeObject {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  spec: NetworkPolicySpec;
}

/** What an owner needs: one of our custom resources as read from the API. */
export interface Owner {
  kind: string;
  metadata: { name: string; uid?: string };
}

/**
 * The controller owner reference to one of our resources, or none when the owner has no uid
 * yet (an object that was never stored, e.g. rendered from a file): an owner reference
 * without a uid is invalid, and the controller always renders from stored objects.
 */
export function ownerReferences(owner: Owner): OwnerReference[] | undefined {
  const uid = owner.metadata.uid;
  if (!uid) return undefined;
  return [
    {
      apiVersion: API_VERSION,
      kind: owner.kind,
      name: owner.metadata.name,
      uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

/** metadata for a child: name, namespace (if any), labels, and owner references when known. */
export function childMeta(
  owner: Owner,
  name: string,
  labels: Record<string, string>,
  namespace?: string,
): KubeMeta {
  const refs = ownerReferences(owner);
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    labels,
    ...(refs ? { ownerReferences: refs } : {}),
  };
}

/** Sorted, de-duplicated copy. */
export function sortedUnique(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}
