// Certificates the operator manages for its webhook, the pure part: a CA (10 years) and a
// serving certificate it signs (1 year), both ECDSA P-256, written by src/tls/issue.ts on Node's
// native crypto; the SAN list of the webhook Service; and the decision whether (and how) to
// renew. No I/O here: src/webhook/certstore.ts keeps the result in a Secret.
import { X509Certificate as NodeX509, createPrivateKey } from 'node:crypto';
import { KEY_USAGE, issue, name, type KeyedCert } from '../tls/issue.ts';
import { caFacts, caSigningKey, namesOf } from '../tls/parsed.ts';

export type { KeyedCert } from '../tls/issue.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

const CA_VALIDITY_DAYS = 3650;
const CERT_VALIDITY_DAYS = 365;
export const ROTATE_BEFORE_DAYS = 30;
/** Clock skew allowance: certificates are valid from a little before "now". */
const BACKDATE_MS = 5 * 60 * 1000;

/** What the Secret holds. `caBundle` may hold more than the current CA while a CA is rotated. */
export interface CertBundle {
  /** PEM of the current CA certificate. */
  caCert: string;
  /** PEM (PKCS#8) of the CA private key. */
  caKey: string;
  /** PEM of the serving certificate. */
  cert: string;
  /** PEM (PKCS#8) of the serving private key. */
  key: string;
  /** PEM of every CA the apiserver should trust: the current CA first, then a previous one. */
  caBundle: string;
}

export interface ServingNameOptions {
  serviceName: string;
  namespace: string;
  /** Extra DNS names or IP addresses (for a local run: `127.0.0.1`, `localhost`). */
  hosts?: string[];
  clusterDomain?: string;
}

export interface RenewOptions {
  names: string[];
  now?: Date;
  caValidityDays?: number;
  certValidityDays?: number;
  /** Renew a certificate with less than this left. Default 30 days. */
  rotateBeforeDays?: number;
}

export type RenewReason =
  | 'missing'
  | 'invalid'
  | 'ca-expiring'
  | 'cert-expiring'
  | 'names-changed'
  | 'not-signed-by-ca'
  | 'key-mismatch';

/** The names the serving certificate must carry: the Service's in-cluster DNS names plus extras. */
export function servingNames(o: ServingNameOptions): string[] {
  const domain = o.clusterDomain ?? 'cluster.local';
  const base = [`${o.serviceName}.${o.namespace}.svc`, `${o.serviceName}.${o.namespace}.svc.${domain}`];
  return [...new Set([...base, ...(o.hosts ?? [])])];
}

/** A self-signed CA, valid `days` from `now`. */
export function generateCA(now = new Date(), days = CA_VALIDITY_DAYS): Promise<KeyedCert> {
  return new Promise((resolve) =>
    resolve(
      issue({
        subject: name([['CN', `spaces-operator-webhook-ca-${now.getTime().toString(36)}`]]),
        notBefore: now.getTime() - BACKDATE_MS,
        notAfter: now.getTime() + days * DAY_MS,
        ca: {},
      }),
    ),
  );
}

/** A serving certificate for `names`, signed by `ca`, valid `days` from `now` (never past the CA). */
export function issueServingCert(
  ca: KeyedCert,
  names: string[],
  now = new Date(),
  days = CERT_VALIDITY_DAYS,
): Promise<KeyedCert> {
  return new Promise((resolve) => {
    if (names.length === 0) throw new Error('a serving certificate needs at least one name');
    const facts = caFacts(ca.cert);
    resolve(
      issue({
        subject: name([['CN', names[0]!]]),
        notBefore: now.getTime() - BACKDATE_MS,
        notAfter: Math.min(now.getTime() + days * DAY_MS, facts.notAfter),
        serving: { keyUsage: KEY_USAGE.sign, names },
        issuer: { subject: facts.subject, keyId: facts.keyId, key: caSigningKey(ca.cert, ca.key) },
      }),
    );
  });
}

/** The PEM blocks of a bundle, in order. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** True when `certPem` expires within `beforeDays` of `now` (or is not valid yet, or unparsable). */
export function needsRotation(certPem: string, now = new Date(), beforeDays = ROTATE_BEFORE_DAYS): boolean {
  try {
    const c = new NodeX509(certPem);
    const from = Date.parse(c.validFrom);
    const to = Date.parse(c.validTo);
    return now.getTime() < from - BACKDATE_MS || to - now.getTime() < beforeDays * DAY_MS;
  } catch {
    return true;
  }
}

/** The names (DNS and IP) a certificate carries in its subjectAltName. */
export function certNames(certPem: string): string[] {
  return namesOf(certPem);
}

function sameKey(certPem: string, keyPem: string): boolean {
  return new NodeX509(certPem).checkPrivateKey(createPrivateKey(keyPem));
}

/**
 * Why `b` must be renewed now (undefined: it is fine). Pure given `o.now` (the caller's clock;
 * without it, the wall clock).
 */
export function renewReason(b: CertBundle | undefined, o: RenewOptions): RenewReason | undefined {
  if (!b) return 'missing';
  const now = o.now ?? new Date();
  const before = o.rotateBeforeDays ?? ROTATE_BEFORE_DAYS;
  try {
    const ca = new NodeX509(b.caCert);
    const leaf = new NodeX509(b.cert);
    return (
      caReason(b, ca, now, before) ?? leafReason(b, { ca, leaf }, now, before) ?? bundleReason(b, ca, o.names)
    );
  } catch {
    return 'invalid';
  }
}

/** The CA's own reason: not a CA or not its key ('invalid'), or about to expire. */
function caReason(b: CertBundle, ca: NodeX509, now: Date, before: number): RenewReason | undefined {
  if (!ca.ca || !sameKey(b.caCert, b.caKey)) return 'invalid';
  if (needsRotation(b.caCert, now, before)) return 'ca-expiring';
  return undefined;
}

/** The serving certificate's reason: not issued by the CA, not its key, or about to expire. */
function leafReason(
  b: CertBundle,
  { ca, leaf }: { ca: NodeX509; leaf: NodeX509 },
  now: Date,
  before: number,
): RenewReason | undefined {
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return 'not-signed-by-ca';
  if (!sameKey(b.cert, b.key)) return 'key-mismatch';
  if (needsRotation(b.cert, now, before)) return 'cert-expiring';
  return undefined;
}

/** A wanted name the certificate lacks, or a caBundle that does not hold the CA ('invalid'). */
function bundleReason(b: CertBundle, ca: NodeX509, names: readonly string[]): RenewReason | undefined {
  const have = new Set(certNames(b.cert));
  if (!names.every((n) => have.has(n))) return 'names-changed';
  if (!splitPem(b.caBundle).some((p) => new NodeX509(p).fingerprint256 === ca.fingerprint256))
    return 'invalid';
  return undefined;
}

const KEEP_CA: ReadonlySet<RenewReason> = new Set([
  'cert-expiring',
  'names-changed',
  'key-mismatch',
  'not-signed-by-ca',
]);

/**
 * The bundle to store for `reason`: a new serving certificate from the same CA when only the
 * certificate is due (the caBundle stays the same, nothing to inject), or a new CA and
 * certificate when the CA is due or unusable. A rotated CA keeps the old one in `caBundle`
 * while it is still valid, so replicas still serving the old certificate stay trusted.
 */
export async function renew(
  b: CertBundle | undefined,
  reason: RenewReason,
  o: RenewOptions,
): Promise<CertBundle> {
  const now = o.now ?? new Date();
  const keepCA = b !== undefined && KEEP_CA.has(reason);
  const ca = keepCA ? { cert: b.caCert, key: b.caKey } : await generateCA(now, o.caValidityDays);
  const leaf = await issueServingCert(ca, o.names, now, o.certValidityDays);
  const previous =
    !keepCA && b && reason === 'ca-expiring' && !needsRotation(b.caCert, now, 0) ? [b.caCert] : [];
  const caBundle = keepCA ? b.caBundle : joinPem([ca.cert, ...previous]);
  return { caCert: ca.cert, caKey: ca.key, cert: leaf.cert, key: leaf.key, caBundle };
}

export function joinPem(blocks: string[]): string {
  return blocks.map((p) => p.trim() + '\n').join('');
}
