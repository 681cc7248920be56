// The Kubernetes objects of private TLS, pure: rendered from a CA state or a certificate, and read
// back. Every object carries the managed-by label, the TLS label and a controller owner reference
// (the Space for its CA and bundle, the App for its certificate), so garbage collection removes
// them with their owner and the operator can tell its own objects from a user's: it never writes
// over an object that lacks them (`ownedBy`).
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { App, Space } from '../api/v1alpha1/index.ts';
import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  managedLabels,
  ownerReferences,
  sortedLabels,
} from '../model/index.ts';
import { splitPem } from '../webhook/certs.ts';
import type { KeyedCert } from './certs.ts';
import {
  CA_BUNDLE_CONFIGMAP,
  CA_BUNDLE_KEY,
  TLS_LABEL,
  caBundle,
  caSecretName,
  tlsSecretName,
  type CaState,
} from './policy.ts';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

type Meta = { labels?: Record<string, string>; ownerReferences?: { uid?: string; controller?: boolean }[] };

/** True when `obj` is ours for the owner with `uid`: our labels and its controller reference. */
export function ownedBy(obj: { metadata?: Meta } | undefined, uid: string | undefined): boolean {
  const m = obj?.metadata;
  if (!m || m.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY || m.labels[TLS_LABEL] === undefined) return false;
  return (m.ownerReferences ?? []).some((r) => r.controller === true && uid !== undefined && r.uid === uid);
}

type SpaceRef = Pick<Space, 'metadata'> & { kind?: string };
type AppRef = Pick<App, 'metadata' | 'spec'> & { kind?: string };

/** The Space's CA Secret in the operator's namespace: tls.crt/tls.key signing, next.*, ca.crt the bundle. */
export function caSecret(space: SpaceRef, s: CaState, operatorNamespace: string, now: number): V1Secret {
  const refs = ownerReferences({ kind: 'Space', metadata: space.metadata });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name: caSecretName(space.metadata.name),
      namespace: operatorNamespace,
      labels: sortedLabels({ ...managedLabels(space.metadata.name), [TLS_LABEL]: 'ca' }),
      ...(refs ? { ownerReferences: refs } : {}),
    },
    data: {
      'tls.crt': b64(s.current.cert),
      'tls.key': b64(s.current.key),
      ...(s.next ? { 'next.crt': b64(s.next.cert), 'next.key': b64(s.next.key) } : {}),
      [CA_BUNDLE_KEY]: b64(caBundle(s, now)),
    },
  };
}

/** The CA state a CA Secret holds (undefined when it holds none). */
export function caStateOf(secret: V1Secret | undefined): CaState | undefined {
  const d = secret?.data ?? {};
  const cert = unb64(d['tls.crt']);
  const key = unb64(d['tls.key']);
  if (!cert || !key) return undefined;
  const nextCert = unb64(d['next.crt']);
  const nextKey = unb64(d['next.key']);
  const next = nextCert && nextKey ? { cert: nextCert, key: nextKey } : undefined;
  const skip = new Set([cert, nextCert].filter((p): p is string => !!p).map((p) => p.trim()));
  const previous = splitPem(unb64(d[CA_BUNDLE_KEY]) ?? '').filter((p) => !skip.has(p.trim()));
  return { current: { cert, key }, ...(next ? { next } : {}), previous };
}

/** The Space's CA bundle, trust-manager style: ConfigMap `privatespaces-ca`, key `ca.crt`. */
export function caBundleConfigMap(space: SpaceRef, namespace: string, bundle: string): V1ConfigMap {
  const refs = ownerReferences({ kind: 'Space', metadata: space.metadata });
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: CA_BUNDLE_CONFIGMAP,
      namespace,
      labels: sortedLabels({ ...managedLabels(space.metadata.name), [TLS_LABEL]: 'bundle' }),
      ...(refs ? { ownerReferences: refs } : {}),
    },
    data: { [CA_BUNDLE_KEY]: bundle },
  };
}

/** The App's serving Secret in its own namespace: tls.crt, tls.key and ca.crt (the Space's bundle). */
export function servingSecret(app: AppRef, space: string, leaf: KeyedCert, bundle: string): V1Secret {
  const refs = ownerReferences({ kind: 'App', metadata: app.metadata });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name: tlsSecretName(app),
      namespace: app.metadata.namespace ?? space,
      labels: sortedLabels({ ...managedLabels(space, app.metadata.name), [TLS_LABEL]: 'serving' }),
      ...(refs ? { ownerReferences: refs } : {}),
    },
    data: { 'tls.crt': b64(leaf.cert), 'tls.key': b64(leaf.key), [CA_BUNDLE_KEY]: b64(bundle) },
  };
}

/** The certificate and key a kubernetes.io/tls Secret holds. */
export function keyedCertOf(secret: V1Secret | undefined): KeyedCert | undefined {
  const cert = unb64(secret?.data?.['tls.crt']);
  const key = unb64(secret?.data?.['tls.key']);
  return cert && key ? { cert, key } : undefined;
}

/** The bundle a Secret or ConfigMap carries in ca.crt. */
export function bundleOf(obj: V1Secret | V1ConfigMap | undefined): string | undefined {
  if (!obj) return undefined;
  if ((obj as V1Secret).type !== undefined || obj.kind === 'Secret')
    return unb64((obj as V1Secret).data?.[CA_BUNDLE_KEY]);
  return (obj as V1ConfigMap).data?.[CA_BUNDLE_KEY];
}

/** `--tls-issuer=cert-manager:<Kind>/<name>`: cert-manager issues instead of the operator. */
export interface CertManagerIssuer {
  kind: 'Issuer' | 'ClusterIssuer';
  name: string;
}

/** Parses the flag's value; undefined for `operator` (the default); throws naming the flag otherwise. */
export function parseTlsIssuer(value: string | undefined): CertManagerIssuer | undefined {
  if (value === undefined || value === '' || value === 'operator') return undefined;
  const m = /^cert-manager:(?:(Issuer|ClusterIssuer)\/)?([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!m) {
    throw new Error(
      `--tls-issuer: "${value}" is not operator, cert-manager:ClusterIssuer/<name> or cert-manager:Issuer/<name>`,
    );
  }
  return { kind: (m[1] as CertManagerIssuer['kind'] | undefined) ?? 'ClusterIssuer', name: m[2]! };
}

/**
 * The cert-manager Certificate for an App (cert-manager.io/v1): exactly the App's names, renewed
 * at 2/3 of its lifetime, its Secret labelled like ours so the operator reads it, in the App's
 * namespace. An `Issuer` is looked up in that namespace (one per Space, the platform admin's);
 * a `ClusterIssuer` is shared (its CA key stays in cert-manager's namespace).
 */
export function certManagerCertificate(
  app: AppRef,
  space: string,
  names: readonly string[],
  issuer: CertManagerIssuer,
): object {
  const refs = ownerReferences({ kind: 'App', metadata: app.metadata });
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: {
      name: tlsSecretName(app),
      namespace: app.metadata.namespace ?? space,
      labels: sortedLabels({ ...managedLabels(space, app.metadata.name), [TLS_LABEL]: 'serving' }),
      ...(refs ? { ownerReferences: refs } : {}),
    },
    spec: {
      secretName: tlsSecretName(app),
      commonName: names[0],
      dnsNames: [...names],
      duration: '2160h',
      renewBeforePercentage: 33,
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      usages: ['digital signature', 'key encipherment', 'server auth'],
      issuerRef: { group: 'cert-manager.io', kind: issuer.kind, name: issuer.name },
      secretTemplate: {
        labels: sortedLabels({ ...managedLabels(space, app.metadata.name), [TLS_LABEL]: 'serving' }),
      },
    },
  };
}
