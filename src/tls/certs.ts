// The certificates of private TLS, the pure part: a Space's own CA (basicConstraints CA:true,
// pathlen 0, keyCertSign, and name constraints that permit only the DNS subtrees the Space may
// hold), and an App's serving certificate signed by it (SANs exactly the App's names,
// digitalSignature + keyEncipherment, EKU serverAuth, not a CA). Keys are ECDSA P-256. A Space CA
// (rare) is made with @peculiar/x509 through the helpers the webhook's certificates use
// (src/webhook/certs.ts); a serving certificate (one per App, the hot path) is written with
// der.ts and signed with Node's native crypto, synchronously, against a CA parsed once
// (parsed.ts). Times come from the caller (the engine's clock): nothing here reads the wall clock.
import 'reflect-metadata';
import { generateKeyPairSync, randomBytes, sign, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import ipaddr from 'ipaddr.js';
import { keyPem, newKeys, serial, type KeyedCert } from '../webhook/certs.ts';
import {
  BIT_STRING,
  BOOLEAN,
  INTEGER,
  OCTET_STRING,
  OID_NAME_CONSTRAINTS,
  OID_SKI as SKI,
  SET,
  UTF8_STRING,
  bitString,
  keyIdentifier,
  oid,
  pem,
  readTlv,
  seq,
  subjectPublicKey,
  time,
  tlv,
} from './der.ts';
import { caFacts, caSigningKey, namesOf, validityOf, type CaFacts } from './parsed.ts';

export type { KeyedCert } from '../webhook/certs.ts';

const x509Crypto = webcrypto as never;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
// The object identifiers a serving certificate uses, encoded once.
/** AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 3.2). */
const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const OID_CN = oid('2.5.4.3');
const OID_BASIC_CONSTRAINTS = oid('2.5.29.19');
const OID_KEY_USAGE = oid('2.5.29.15');
const OID_EXT_KEY_USAGE = oid('2.5.29.37');
const OID_SERVER_AUTH = oid('1.3.6.1.5.5.7.3.1');
const OID_SAN = oid('2.5.29.17');
const OID_SKI = oid(SKI);
const OID_AKI = oid('2.5.29.35');
/** Clock skew allowance: certificates are valid from a little before "now". */
export const BACKDATE_MS = 5 * 60 * 1000;
/** A Space CA lives 5 years, an App certificate 90 days; both are renewed at 2/3 of their life. */
export const CA_LIFETIME_MS = 5 * 365 * DAY_MS;
export const SERVING_LIFETIME_MS = 90 * DAY_MS;

/**
 * The NameConstraints extension (RFC 5280 4.2.1.10, critical) permitting only `dnsSubtrees`:
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] SEQUENCE OF GeneralSubtree }, each
 * GeneralSubtree a SEQUENCE { base dNSName [2] IA5String }. A name is in a subtree when it is the
 * subtree's name or ends with "." + it, so the CA can sign nothing outside the Space's names.
 */
export function nameConstraintsExtension(dnsSubtrees: readonly string[]): x509.Extension {
  if (dnsSubtrees.length === 0) throw new Error('a Space CA needs at least one permitted DNS subtree');
  const subtrees = dnsSubtrees.map((n, i) => seq(tlv(0x82, ia5(n, `permitted[${i}]`))));
  return new x509.Extension(OID_NAME_CONSTRAINTS, true, seq(tlv(0xa0, ...subtrees)));
}

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

/**
 * An App's serving certificate for exactly `names`, signed by `ca`, never outliving it. The work is
 * synchronous (issueServingCertSync); the Promise stays for the callers.
 */
export function issueServingCert(ca: KeyedCert, o: ServingOptions): Promise<KeyedCert> {
  return new Promise((resolve) => resolve(issueServingCertSync(ca, o)));
}

/**
 * The serving certificate on Node's crypto: a fresh P-256 key, the TBSCertificate written by
 * der.ts, signed with the CA's key (ECDSA with SHA-256, DER signature). The CA is parsed once
 * (parsed.ts); its subject Name goes into the issuer field byte for byte, so the chain links by
 * exact Name comparison whatever string types the CA's Name uses.
 */
export function issueServingCertSync(ca: KeyedCert, o: ServingOptions): KeyedCert {
  if (o.names.length === 0) throw new Error('a serving certificate needs at least one name');
  const issuer = caFacts(ca.cert);
  const signingKey = caSigningKey(ca.cert, ca.key);
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const tbs = servingTbs({
    names: o.names,
    issuer,
    spki,
    notBefore: o.now - BACKDATE_MS,
    notAfter: Math.min(o.now + (o.lifetimeMs ?? SERVING_LIFETIME_MS), issuer.notAfter),
  });
  const signature = sign('sha256', tbs, signingKey); // ECDSA: DER Ecdsa-Sig-Value (dsaEncoding 'der')
  const cert = seq(tbs, ECDSA_WITH_SHA256, bitString(signature));
  return {
    cert: pem(cert, 'CERTIFICATE'),
    key: pem(keys.privateKey.export({ type: 'pkcs8', format: 'der' }), 'PRIVATE KEY'),
  };
}

interface TbsInput {
  names: readonly string[];
  issuer: CaFacts;
  /** The new key's SubjectPublicKeyInfo, DER. */
  spki: Buffer;
  notBefore: number;
  notAfter: number;
}

/**
 * TBSCertificate ::= SEQUENCE { version [0] EXPLICIT v3 (2), serialNumber, signature
 * AlgorithmIdentifier, issuer Name, validity, subject Name, subjectPublicKeyInfo, extensions [3]
 * EXPLICIT }. Subject: CN = names[0] (UTF8String).
 */
function servingTbs(t: TbsInput): Buffer {
  const subject = seq(tlv(SET, seq(OID_CN, tlv(UTF8_STRING, Buffer.from(t.names[0]!, 'utf8')))));
  return seq(
    tlv(0xa0, tlv(INTEGER, Buffer.of(2))),
    tlv(INTEGER, serialNumber()),
    ECDSA_WITH_SHA256,
    t.issuer.subject,
    seq(time(t.notBefore), time(t.notAfter)),
    subject,
    t.spki,
    tlv(0xa3, seq(...servingExtensions(t))),
  );
}

/** 16 random bytes, positive and minimal as a DER INTEGER: first byte 0x01..0x7f (~127 bits). */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE (present only when TRUE), extnValue }. */
const extension = (id: Buffer, critical: boolean, value: Buffer): Buffer =>
  seq(id, ...(critical ? [tlv(BOOLEAN, Buffer.of(0xff))] : []), tlv(OCTET_STRING, value));

/** The extensions, as @peculiar/x509 wrote them before (same order, same criticality). */
function servingExtensions(t: TbsInput): Buffer[] {
  const spkiTlv = readTlv(t.spki, 0);
  return [
    // basicConstraints: cA DEFAULT FALSE is omitted in DER, so CA:false is an empty SEQUENCE.
    extension(OID_BASIC_CONSTRAINTS, true, seq()),
    // keyUsage BIT STRING: digitalSignature (bit 0) + keyEncipherment (bit 2) = 0xa0, 5 unused bits.
    extension(OID_KEY_USAGE, true, tlv(BIT_STRING, Buffer.of(5, 0xa0))),
    extension(OID_EXT_KEY_USAGE, false, seq(OID_SERVER_AUTH)),
    extension(OID_SAN, false, seq(...t.names.map(generalName))),
    extension(OID_SKI, false, tlv(OCTET_STRING, keyIdentifier(subjectPublicKey(t.spki, spkiTlv)))),
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    extension(OID_AKI, false, seq(tlv(0x80, t.issuer.keyId))),
  ];
}

/** A SAN entry: iPAddress [7] (4 or 16 bytes) for an IP, else dNSName [2] (IA5String). */
function generalName(name: string, i: number): Buffer {
  if (isIP(name)) return tlv(0x87, Buffer.from(ipaddr.parse(name).toByteArray()));
  return tlv(0x82, ia5(name, `names[${i}]`));
}

/** IA5String contents: ASCII only (a DNS name in its A-label form). */
function ia5(s: string, field: string): Buffer {
  if (Buffer.byteLength(s, 'utf8') !== s.length)
    throw new Error(`${field}: "${s}" is not ASCII (use the A-label form of the name)`);
  return Buffer.from(s, 'latin1');
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
