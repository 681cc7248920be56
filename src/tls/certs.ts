// The certificates of private TLS, the pure part: a Space's own CA (basicConstraints CA:true,
// pathlen 0, keyCertSign, and name constraints that permit only the DNS subtrees the Space may
// hold), and an App's serving certificate signed by it (SANs exactly the App's names,
// digitalSignature + keyEncipherment, EKU serverAuth, not a CA). Keys are ECDSA P-256. Both are
// written by issue.ts on Node's native crypto, synchronously, against a CA parsed once
// (parsed.ts). Times come from the caller (the engine's clock): nothing here reads the wall clock.
import { KEY_USAGE, issue, name, type KeyedCert } from './issue.ts';
import { caFacts, caSigningKey, namesOf, rememberIssued, validityOf } from './parsed.ts';

export type { KeyedCert } from './issue.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Clock skew allowance: certificates are valid from a little before "now". */
export const BACKDATE_MS = 5 * 60 * 1000;
/** A Space CA lives 5 years, an App certificate 90 days; both are renewed at 2/3 of their life. */
export const CA_LIFETIME_MS = 5 * 365 * DAY_MS;
export const SERVING_LIFETIME_MS = 90 * DAY_MS;

/** The permitted DNS subtrees of a CA certificate (empty when it has no name constraints). */
export function permittedSubtrees(caPem: string): string[] {
  return [...caFacts(caPem).permitted];
}

export interface CaOptions {
  space: string;
  /** DNS subtrees the CA may sign names in (the Space's domain, app.localspace, allowed suffixes). */
  permitted: readonly string[];
  now: number;
  lifetimeMs?: number;
}

/** A Space's own CA: self-signed, CA:true with pathlen 0, name-constrained to `permitted`. */
export function issueSpaceCA(o: CaOptions): Promise<KeyedCert> {
  return new Promise((resolve) =>
    resolve(
      issue({
        subject: name([
          ['CN', `privatespaces ${o.space} CA ${o.now.toString(36)}`],
          ['O', 'privatespaces.dev'],
        ]),
        notBefore: o.now - BACKDATE_MS,
        notAfter: o.now + (o.lifetimeMs ?? CA_LIFETIME_MS),
        ca: { permittedDnsSubtrees: o.permitted },
      }),
    ),
  );
}

export interface ServingOptions {
  /** Exactly the App's names: the default domain first (it becomes the CN). */
  names: readonly string[];
  now: number;
  lifetimeMs?: number;
}

/**
 * An App's serving certificate for exactly `names`, signed by `ca`, never outliving it. The work is
 * synchronous (issueServingCertSync); the Promise stays for the callers.
 */
export function issueServingCert(ca: KeyedCert, o: ServingOptions): Promise<KeyedCert> {
  return new Promise((resolve) => resolve(issueServingCertSync(ca, o)));
}

/**
 * The serving certificate: a fresh P-256 key, signed with the CA's key. The CA is parsed once
 * (parsed.ts); its subject Name goes into the issuer field byte for byte, so the chain links by
 * exact Name comparison whatever string types the CA's Name uses.
 */
export function issueServingCertSync(ca: KeyedCert, o: ServingOptions): KeyedCert {
  if (o.names.length === 0) throw new Error('a serving certificate needs at least one name');
  const facts = caFacts(ca.cert);
  const notBefore = o.now - BACKDATE_MS;
  const notAfter = Math.min(o.now + (o.lifetimeMs ?? SERVING_LIFETIME_MS), facts.notAfter);
  const leaf = issue({
    subject: name([['CN', o.names[0]!]]),
    notBefore,
    notAfter,
    serving: { keyUsage: KEY_USAGE.serve, names: o.names },
    issuer: { subject: facts.subject, keyId: facts.keyId, key: caSigningKey(ca.cert, ca.key) },
  });
  // Its validity, names, key and issuer are known: the reconcile that reports it parses nothing.
  rememberIssued(leaf, { notBefore, notAfter, names: o.names, issuerPem: ca.cert });
  return leaf;
}

/** notBefore and notAfter of a certificate, in ms since the epoch. */
export function validity(certPem: string): { notBefore: number; notAfter: number } {
  return validityOf(certPem);
}

/**
 * When a certificate is renewed: at 2/3 of its lifetime (cert-manager's default), counted from
 * when it was issued (notBefore is backdated by BACKDATE_MS for clock skew), so a short-lived
 * certificate is not due the moment it is made.
 */
export function renewAt(certPem: string): number {
  const { notBefore, notAfter } = validity(certPem);
  const issued = Math.min(notBefore + BACKDATE_MS, notAfter);
  return issued + Math.floor(((notAfter - issued) * 2) / 3);
}

/** The names (DNS and IP) a certificate carries in its subjectAltName. */
export function certNames(certPem: string): string[] {
  return namesOf(certPem);
}
