// Certificates and keys parsed once (issue #21). A Space's CA changes rarely and every App of the
// Space is signed and judged against it; an App's certificate is read back on every reconcile of
// the App. What is derived from a PEM depends only on its bytes, so it is kept in small LRU maps:
// a CA by its PEM text, a certificate by the SHA-256 of its PEM text (44 characters held per App
// instead of the ~2 KB of its certificate, key and issuer PEMs): the same text gives the same
// answer, other text is parsed afresh. Verdicts that need two PEMs (a certificate and its key, a
// certificate and its issuer) remember the other PEM they were computed with and are computed
// again when it differs. Nothing here depends on the time: callers compare with their `now`.
// A parse that throws is not remembered (the next call throws again).
import { X509Certificate as NodeX509, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { caFields, type CaFields } from './der.ts';

/** A Map that keeps the `max` most recently used entries. */
export class Lru<V> {
  readonly #max: number;
  readonly #m = new Map<string, V>();

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#m.size;
  }

  /** The value for `key`, made by `make` when it is not held (the least recently used one goes). */
  get(key: string, make: () => V): V {
    const held = this.#m.get(key);
    if (held !== undefined) {
      this.#m.delete(key); // re-inserted last: a Map iterates in insertion order
      this.#m.set(key, held);
      return held;
    }
    const v = make();
    this.#m.set(key, v);
    if (this.#m.size > this.#max) this.#m.delete(this.#m.keys().next().value!);
    return v;
  }
}

/** Space CAs held (a CA and its next one per Space being worked on). */
export const CA_ENTRIES = 256;
/** Certificates held: each App's serving certificate (read back every reconcile) and the CAs. */
export const CERT_ENTRIES = 4096;

/** A CA certificate, parsed for signing (der.ts), and its private key once it has been used. */
export interface CaFacts extends CaFields {
  x509: NodeX509;
  signer?: { keyPem: string; key: KeyObject };
}

const cas = new Lru<CaFacts>(CA_ENTRIES);

/** The CA certificate `certPem`, parsed once. */
export function caFacts(certPem: string): CaFacts {
  return cas.get(certPem, () => {
    const x509 = new NodeX509(certPem);
    return { ...caFields(x509.raw), x509 };
  });
}

/** The CA's private key as a KeyObject for crypto.sign, imported once per key PEM; ECDSA only. */
export function caSigningKey(certPem: string, keyPem: string): KeyObject {
  const facts = caFacts(certPem);
  if (facts.signer?.keyPem !== keyPem) {
    const key = createPrivateKey(keyPem);
    // Serving certificates say ecdsa-with-SHA256: a key of another type would sign something else.
    if (key.asymmetricKeyType !== 'ec')
      throw new Error(`tls.key: the CA key is ${key.asymmetricKeyType}, not an EC (ECDSA) key`);
    facts.signer = { keyPem, key };
  }
  return facts.signer.key;
}

/**
 * What any certificate's checks need, read once by Node's parser (OpenSSL). Plain values only (no
 * X509Certificate is held per App): the verdicts below parse again when the key or issuer changes.
 */
interface CertFacts {
  notBefore: number;
  notAfter: number;
  isCa: boolean;
  /** The subjectAltName entries, DNS and IP, in order. */
  names: readonly string[];
  /** The last key checked against it (the digest of its PEM), and the verdict. */
  key?: { pem: string; ok: boolean };
  /** The last issuer checked against it (the digest of its PEM), and the verdict. */
  issuer?: { pem: string; ok: boolean };
}

const certs = new Lru<CertFacts>(CERT_ENTRIES);

/** What a certificate's facts are held by: SHA-256 of the PEM text, base64. */
const digest = (pem: string): string => createHash('sha256').update(pem).digest('base64');

function certFacts(certPem: string): CertFacts {
  return certs.get(digest(certPem), () => {
    const x509 = new NodeX509(certPem);
    const names = (x509.subjectAltName ?? '')
      .split(', ')
      .map((e) => e.replace(/^(DNS|IP Address):/, ''))
      .filter((e) => e !== '');
    const notBefore = Date.parse(x509.validFrom);
    const notAfter = Date.parse(x509.validTo);
    return { notBefore, notAfter, isCa: x509.ca, names };
  });
}

/**
 * Remembers what a certificate this process has just issued says, so it is not parsed back: its
 * validity (DER times hold whole seconds, so the milliseconds are cut as a parse would), its DNS
 * names, that it is no CA, and that `keyPem` is its key and `issuerPem` its issuer. A certificate
 * with an IP address among its names is left to the parser (which formats IPv6 its own way).
 */
export function rememberIssued(
  cert: { cert: string; key: string },
  o: { notBefore: number; notAfter: number; names: readonly string[]; issuerPem: string },
): void {
  if (o.names.some((n) => isIP(n) !== 0)) return;
  const second = (ms: number): number => Math.floor(ms / 1000) * 1000;
  certs.get(digest(cert.cert), () => ({
    notBefore: second(o.notBefore),
    notAfter: second(o.notAfter),
    isCa: false,
    names: [...o.names],
    key: { pem: digest(cert.key), ok: true },
    issuer: { pem: digest(o.issuerPem), ok: true },
  }));
}

/** notBefore and notAfter of a certificate, in ms since the epoch. */
export function validityOf(certPem: string): { notBefore: number; notAfter: number } {
  const { notBefore, notAfter } = certFacts(certPem);
  return { notBefore, notAfter };
}

/** The names (DNS and IP) a certificate carries in its subjectAltName. */
export function namesOf(certPem: string): string[] {
  return [...certFacts(certPem).names];
}

/** basicConstraints CA:true. */
export function isCaCert(certPem: string): boolean {
  return certFacts(certPem).isCa;
}

/** The private key `keyPem` is the certificate's (false when it is not, or not a key at all). */
export function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    const facts = certFacts(certPem);
    const key = digest(keyPem);
    if (facts.key?.pem !== key) {
      facts.key = { pem: key, ok: new NodeX509(certPem).checkPrivateKey(createPrivateKey(keyPem)) };
    }
    return facts.key.ok;
  } catch {
    return false;
  }
}

/** The certificate names `issuerPem`'s subject as its issuer and its signature verifies with its key. */
export function issuedBy(certPem: string, issuerPem: string): boolean {
  const facts = certFacts(certPem);
  const issuerDigest = digest(issuerPem);
  if (facts.issuer?.pem !== issuerDigest) {
    const cert = new NodeX509(certPem);
    const issuer = caFacts(issuerPem).x509;
    const ok = cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    facts.issuer = { pem: issuerDigest, ok };
  }
  return facts.issuer.ok;
}
