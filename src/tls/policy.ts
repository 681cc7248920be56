// What private TLS decides, pure: which mode an App is in, which names its certificate must carry,
// which DNS subtrees its Space's CA may sign, and when a CA or a serving certificate must be issued
// again (at 2/3 of its lifetime, or at once when it no longer fits). Time is always an argument
// (the engine's clock), never read here.
import type { App, Space } from '../api/v1alpha1/index.ts';
import { DISCOVERY_ZONE, appDnsNames, isInternal, normalizeSuffix, spaceDnsDomain } from '../model/index.ts';
import type { PlatformSettings } from '../model/settings.ts';
import { joinPem, splitPem } from '../webhook/certs.ts';
import {
  BACKDATE_MS,
  certNames,
  issueServingCert,
  issueSpaceCA,
  permittedSubtrees,
  renewAt,
  validity,
  type KeyedCert,
} from './certs.ts';
import { isCaCert, issuedBy, keyMatches } from './parsed.ts';

export type TlsMode = 'operator' | 'secret' | 'none';

/** The ConfigMap (trust-manager's convention: key `ca.crt`) holding a Space's CA bundle. */
export const CA_BUNDLE_CONFIGMAP = 'privatespaces-ca';
export const CA_BUNDLE_KEY = 'ca.crt';
/** Label on every Secret and ConfigMap of private TLS (value: ca, serving, bundle); the informers select on it. */
export const TLS_LABEL = 'privatespaces.dev/tls';
/** A new CA is trusted (in the bundle) this long before it signs anything: the kubelet's volume sync and more. */
export const PROPAGATION_MS = 10 * 60 * 1000;

/** spec.tls.mode, or its default: operator-issued for internal apps, none for external ones. */
export function tlsMode(app: Pick<App, 'spec'>): TlsMode {
  return app.spec.tls?.mode ?? (isInternal(app) ? 'operator' : 'none');
}

/** The Secret holding the App's certificate: spec.tls.secretName, default `<app>-tls`. */
export function tlsSecretName(app: Pick<App, 'spec' | 'metadata'>): string {
  return app.spec.tls?.secretName ?? `${app.metadata.name}-tls`;
}

/** The Secret (in the operator's namespace) holding a Space's CA and its key. */
export function caSecretName(space: string): string {
  return `privatespaces-ca-${space}`;
}

/** Exactly the App's names: default domain, custom domains, web.<app>.app.localspace (when discovery applies). */
export function certificateNames(app: App, space: Space): string[] {
  return appDnsNames(app, space);
}

/**
 * The DNS subtrees a Space's CA may sign in (its name constraints): the Space's domain, the
 * discovery zone, and the platform's allowed suffixes (custom domains fall under one of them).
 * A subtree inside another one is dropped. Sorted, so a change is a change of the set.
 */
export function caPermitted(space: Space, settings: Pick<PlatformSettings, 'allowedDnsSuffixes'>): string[] {
  const all = [
    ...new Set([spaceDnsDomain(space), DISCOVERY_ZONE, ...settings.allowedDnsSuffixes].map(normalizeSuffix)),
  ].filter((s) => s !== '');
  const inside = (a: string, b: string): boolean => a !== b && a.endsWith(`.${b}`);
  return all.filter((s) => !all.some((o) => inside(s, o))).sort();
}

/** A Space CA as the operator keeps it: the signing CA, the next one (trusted, not signing yet), older ones. */
export interface CaState {
  current: KeyedCert;
  next?: KeyedCert | undefined;
  /** Older CA certificates still trusted until they expire (their certificates may still be served). */
  previous: string[];
}

export type CaReason = 'missing' | 'invalid' | 'expired' | 'renewal-due' | 'constraints-changed' | 'promoted';

/** Every CA a client must trust now: current, next, then the previous ones still valid at `now`. */
export function caBundle(s: CaState, now: number): string {
  const prev = s.previous.filter((p) => validity(p).notAfter > now);
  return joinPem([s.current.cert, ...(s.next ? [s.next.cert] : []), ...prev]);
}

/** A CA certificate whose key is the one given (parsed.ts remembers both verdicts per PEM pair). */
function usableCa(c: KeyedCert): boolean {
  try {
    return isCaCert(c.cert) && keyMatches(c.cert, c.key);
  } catch {
    return false;
  }
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

export interface CaPlanOptions {
  space: string;
  permitted: readonly string[];
  now: number;
  caLifetimeMs?: number | undefined;
  propagationMs?: number | undefined;
}

/** Why the CA state must change now (undefined: it is fine as it is). */
export function caReason(s: CaState | undefined, o: CaPlanOptions): CaReason | undefined {
  if (!s) return 'missing';
  if (!usableCa(s.current) || (s.next && !usableCa(s.next))) return 'invalid';
  if (validity(s.current.cert).notAfter <= o.now) return 'expired';
  if (s.next) return nextCaReason(s.next, o);
  if (!sameSet(permittedSubtrees(s.current.cert), o.permitted)) return 'constraints-changed';
  if (o.now >= renewAt(s.current.cert)) return 'renewal-due';
  return undefined;
}

/** A next CA is promoted once every mounted bundle has had time to take it. */
function nextCaReason(next: KeyedCert, o: CaPlanOptions): CaReason | undefined {
  const trustedSince = validity(next.cert).notBefore + BACKDATE_MS;
  return o.now >= trustedSince + (o.propagationMs ?? PROPAGATION_MS) ? 'promoted' : undefined;
}

/**
 * The CA state after `reason`. A missing, unusable or expired CA is replaced at once (nothing it
 * signed can be trusted anyway). A CA due for renewal, or whose name constraints no longer fit,
 * gets a `next` CA that goes into the bundle first and signs only after `propagationMs`, when
 * every mounted bundle has it; then it is promoted and the old CA stays in the bundle until it
 * expires, so certificates it signed keep verifying while they are re-issued.
 */
export async function planCa(s: CaState | undefined, reason: CaReason, o: CaPlanOptions): Promise<CaState> {
  const fresh = (): Promise<KeyedCert> =>
    issueSpaceCA({ space: o.space, permitted: o.permitted, now: o.now, lifetimeMs: o.caLifetimeMs });
  const stillValid = (pems: string[]): string[] => pems.filter((p) => validity(p).notAfter > o.now);
  if (!s || reason === 'missing' || reason === 'invalid' || reason === 'expired') {
    return { current: await fresh(), previous: s ? stillValid([s.current.cert, ...s.previous]) : [] };
  }
  if (reason === 'promoted' && s.next) {
    return { current: s.next, previous: stillValid([s.current.cert, ...s.previous]) };
  }
  return { current: s.current, next: await fresh(), previous: stillValid(s.previous) };
}

/** When the CA state changes next on its own (promotion or renewal), for the requeue. */
export function caNextEvent(s: CaState, propagationMs = PROPAGATION_MS): number {
  if (s.next) return validity(s.next.cert).notBefore + BACKDATE_MS + propagationMs;
  return Math.min(renewAt(s.current.cert), validity(s.current.cert).notAfter);
}

export type ServingReason =
  'missing' | 'invalid' | 'names-changed' | 'not-signed-by-ca' | 'key-mismatch' | 'renewal-due';

/** Why an App's certificate must be issued again now (undefined: keep it). */
export function servingReason(
  have: KeyedCert | undefined,
  ca: KeyedCert,
  names: readonly string[],
  now: number,
): ServingReason | undefined {
  if (!have) return 'missing';
  try {
    // Parsing and the signature and key checks are remembered per PEM (parsed.ts); the names and
    // the renewal time are compared with this call's `names` and `now` every time.
    if (!issuedBy(have.cert, ca.cert)) return 'not-signed-by-ca';
    if (!keyMatches(have.cert, have.key)) return 'key-mismatch';
    if (!sameSet(certNames(have.cert), names)) return 'names-changed';
    if (now >= renewAt(have.cert)) return 'renewal-due';
    return undefined;
  } catch {
    return 'invalid';
  }
}

export { issueServingCert, renewAt, splitPem, validity };
