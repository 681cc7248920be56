// The certificates of private TLS, the pure part: a Space's own CA (basicConstraints CA:true,
// pathlen 0, keyCertSign, and name constraints that permit only the DNS subtrees the Space may
// hold), and an App's serving certificate signed by it (SANs exactly the App's names,
// digitalSignature + keyEncipherment, EKU serverAuth, not a CA). Keys are ECDSA P-256 made with
// Node's webcrypto through the helpers the webhook's certificates use (src/webhook/certs.ts).
// Times come from the caller (the engine's clock): nothing here reads the wall clock.
import 'reflect-metadata';
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  certNames,
  importSigningKey,
  keyPem,
  newKeys,
  serial,
  subjectAltNames,
  type KeyedCert,
} from '../webhook/certs.ts';

export type { KeyedCert } from '../webhook/certs.ts';

const x509Crypto = webcrypto as never;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Clock skew allowance: certificates are valid from a little before "now". */
export const BACKDATE_MS = 5 * 60 * 1000;
/** A Space CA lives 5 years, an App certificate 90 days; both are renewed at 2/3 of their life. */
export const CA_LIFETIME_MS = 5 * 365 * DAY_MS;
export const SERVING_LIFETIME_MS = 90 * DAY_MS;
const OID_NAME_CONSTRAINTS = '2.5.29.30';

/** DER length octets. */
function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function der(tag: number, body: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...derLength(body.length), ...body]);
}

const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

/**
 * The NameConstraints extension (RFC 5280 4.2.1.10, critical) permitting only `dnsSubtrees`:
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] SEQUENCE OF GeneralSubtree }, each
 * GeneralSubtree a SEQUENCE { base dNSName [2] IA5String }. A name is in a subtree when it is the
 * subtree's name or ends with "." + it, so the CA can sign nothing outside the Space's names.
 */
export function nameConstraintsExtension(dnsSubtrees: readonly string[]): x509.Extension {
  if (dnsSubtrees.length === 0) throw new Error('a Space CA needs at least one permitted DNS subtree');
  const subtrees = dnsSubtrees.map((n) => der(0x30, der(0x82, new TextEncoder().encode(n))));
  const value = der(0x30, der(0xa0, concat(subtrees)));
  return new x509.Extension(OID_NAME_CONSTRAINTS, true, value);
}

/** The permitted DNS subtrees of a CA certificate (empty when it has no name constraints). */
export function permittedSubtrees(caPem: string): string[] {
  const ext = new x509.X509Certificate(caPem).getExtension(OID_NAME_CONSTRAINTS);
  if (!ext) return [];
  const v = new Uint8Array(ext.value);
  const out: string[] = [];
  // Walk the DER: the only primitives we emit are [2] dNSName; skip constructed wrappers.
  for (let i = 0; i < v.length;) {
    const tag = v[i++]!;
    let len = v[i++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + v[i++]!;
    }
    if (tag === 0x82) out.push(new TextDecoder().decode(v.slice(i, i + len)));
    if (tag & 0x20) continue; // constructed: descend
    i += len;
  }
  return out;
}

export interface CaOptions {
  space: string;
  /** DNS subtrees the CA may sign names in (the Space's domain, app.localspace, allowed suffixes). */
  permitted: readonly string[];
  now: number;
  lifetimeMs?: number;
}

/** A Space's own CA: self-signed, CA:true with pathlen 0, name-constrained to `permitted`. */
export async function issueSpaceCA(o: CaOptions): Promise<KeyedCert> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: `CN=privatespaces ${o.space} CA ${o.now.toString(36)}, O=privatespaces.dev`,
      notBefore: new Date(o.now - BACKDATE_MS),
      notAfter: new Date(o.now + (o.lifetimeMs ?? CA_LIFETIME_MS)),
      keys,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        nameConstraintsExtension(o.permitted),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, x509Crypto),
      ],
    },
    x509Crypto,
  );
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

export interface ServingOptions {
  /** Exactly the App's names: the default domain first (it becomes the CN). */
  names: readonly string[];
  now: number;
  lifetimeMs?: number;
}

/** An App's serving certificate for exactly `names`, signed by `ca`, never outliving it. */
export async function issueServingCert(ca: KeyedCert, o: ServingOptions): Promise<KeyedCert> {
  if (o.names.length === 0) throw new Error('a serving certificate needs at least one name');
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await newKeys();
  const notAfter = Math.min(o.now + (o.lifetimeMs ?? SERVING_LIFETIME_MS), caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: `CN=${o.names[0]}`,
      issuer: caCert.subject,
      notBefore: new Date(o.now - BACKDATE_MS),
      notAfter: new Date(notAfter),
      publicKey: keys.publicKey,
      signingKey: await importSigningKey(ca.key),
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(subjectAltNames([...o.names]), false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, x509Crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, x509Crypto),
      ],
    },
    x509Crypto,
  );
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** notBefore and notAfter of a certificate, in ms since the epoch. */
export function validity(certPem: string): { notBefore: number; notAfter: number } {
  const c = new NodeX509(certPem);
  return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) };
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

export { certNames };
