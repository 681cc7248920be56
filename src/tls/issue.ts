// Every certificate the operator makes, on Node's native crypto and der.ts: its webhook's CA and
// serving certificate (src/webhook/certs.ts), each Space's CA and each App's serving certificate
// (certs.ts). Keys are ECDSA P-256 (generateKeyPairSync), signatures ECDSA with SHA-256 (a DER
// Ecdsa-Sig-Value from crypto.sign). The structure is RFC 5280's and the extensions are written
// as @peculiar/x509 wrote them before (same order, same criticality); the tests check the result
// with Node's parser (OpenSSL) and with @peculiar/x509 as an independent oracle. No ASN.1 library
// is loaded at run time.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import {
  BIT_STRING,
  BOOLEAN,
  INTEGER,
  OCTET_STRING,
  OID_NAME_CONSTRAINTS,
  OID_SKI,
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

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface KeyedCert {
  cert: string;
  key: string;
}

/** AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 3.2). */
const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const ATTRIBUTES = { CN: oid('2.5.4.3'), O: oid('2.5.4.10') } as const;
const OID_BASIC_CONSTRAINTS = oid('2.5.29.19');
const OID_KEY_USAGE = oid('2.5.29.15');
const OID_EXT_KEY_USAGE = oid('2.5.29.37');
const OID_SERVER_AUTH = oid('1.3.6.1.5.5.7.3.1');
const OID_SAN = oid('2.5.29.17');
const OID_AKI = oid('2.5.29.35');

/**
 * keyUsage as DER BIT STRING contents: the unused-bits octet, then the bits (RFC 5280 4.2.1.3:
 * digitalSignature is bit 0, the high bit of the first byte). DER drops trailing zero bits.
 */
export const KEY_USAGE = {
  /** digitalSignature: the webhook's serving certificate. */
  sign: Buffer.of(7, 0x80),
  /** digitalSignature + keyEncipherment (bit 2): an App's serving certificate. */
  serve: Buffer.of(5, 0xa0),
  /** keyCertSign (bit 5) + cRLSign (bit 6): a CA. */
  ca: Buffer.of(1, 0x06),
} as const;

/** A Name of one attribute per RDN, in the order given, each a UTF8String. */
export function name(attributes: readonly [keyof typeof ATTRIBUTES, string][]): Buffer {
  return seq(
    ...attributes.map(([type, value]) =>
      tlv(SET, seq(ATTRIBUTES[type], tlv(UTF8_STRING, Buffer.from(value, 'utf8')))),
    ),
  );
}

/** What signs a certificate: its CA's subject Name (DER), key identifier and private key. */
export interface Issuer {
  subject: Buffer;
  keyId: Buffer;
  key: KeyObject;
}

export interface CertificateSpec {
  subject: Buffer;
  notBefore: number;
  notAfter: number;
  /** A CA (basicConstraints CA:true, pathlen 0, keyCertSign + cRLSign), else a serving certificate. */
  ca?: { permittedDnsSubtrees?: readonly string[] };
  /** A serving certificate's keyUsage (KEY_USAGE.serve or .sign) and subjectAltName entries. */
  serving?: { keyUsage: Buffer; names: readonly string[] };
  /** Signed by this CA; absent: self-signed (a CA). */
  issuer?: Issuer;
}

/** A fresh P-256 key pair, and the certificate of `spec` for it. */
export function issue(spec: CertificateSpec): KeyedCert {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { spki, pkcs8 } = p256Der(keys.privateKey);
  const keyId = keyIdentifier(subjectPublicKey(spki, readTlv(spki, 0)));
  const issuer = spec.issuer ?? { subject: spec.subject, keyId, key: keys.privateKey };
  const tbs = seq(
    tlv(0xa0, tlv(INTEGER, Buffer.of(2))), // version [0] EXPLICIT v3
    tlv(INTEGER, serialNumber()),
    ECDSA_WITH_SHA256,
    issuer.subject, // byte for byte the CA's subject: chains link by exact Name comparison
    seq(time(spec.notBefore), time(spec.notAfter)),
    spec.subject,
    spki,
    tlv(0xa3, seq(...extensions(spec, keyId, issuer))),
  );
  const signature = sign('sha256', tbs, issuer.key); // ECDSA: DER Ecdsa-Sig-Value
  return {
    cert: pem(seq(tbs, ECDSA_WITH_SHA256, bitString(signature)), 'CERTIFICATE'),
    key: pem(pkcs8, 'PRIVATE KEY'),
  };
}

const EC_P256 = seq(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')); // id-ecPublicKey, prime256v1

/**
 * A P-256 key's SubjectPublicKeyInfo and PKCS#8 PrivateKeyInfo (RFC 5480, RFC 5915), byte for
 * byte as OpenSSL writes them, built from its JWK: OpenSSL's DER encoders cost ~0.1 ms more per
 * key than the JWK export (der.test.ts compares both).
 */
export function p256Der(privateKey: KeyObject): { spki: Buffer; pkcs8: Buffer } {
  const jwk = privateKey.export({ format: 'jwk' });
  const part = (b64: string | undefined): Buffer => Buffer.from(b64 ?? '', 'base64url');
  const point = Buffer.concat([Buffer.of(4), part(jwk.x), part(jwk.y)]); // uncompressed
  const ecPrivateKey = seq(
    tlv(INTEGER, Buffer.of(1)),
    tlv(OCTET_STRING, part(jwk.d)),
    tlv(0xa1, bitString(point)), // [1] publicKey; the curve is in the PKCS#8 algorithm
  );
  return {
    spki: seq(EC_P256, bitString(point)),
    pkcs8: seq(tlv(INTEGER, Buffer.of(0)), EC_P256, tlv(OCTET_STRING, ecPrivateKey)),
  };
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

const ski = (keyId: Buffer): Buffer => extension(oid(OID_SKI), false, tlv(OCTET_STRING, keyId));

function extensions(spec: CertificateSpec, keyId: Buffer, issuer: Issuer): Buffer[] {
  if (spec.ca) return caExtensions(spec.ca.permittedDnsSubtrees, keyId);
  if (!spec.serving) throw new Error('a certificate is a CA or a serving certificate');
  return [
    // basicConstraints: cA DEFAULT FALSE is omitted in DER, so CA:false is an empty SEQUENCE.
    extension(OID_BASIC_CONSTRAINTS, true, seq()),
    extension(OID_KEY_USAGE, true, tlv(BIT_STRING, spec.serving.keyUsage)),
    extension(OID_EXT_KEY_USAGE, false, seq(OID_SERVER_AUTH)),
    extension(OID_SAN, false, seq(...spec.serving.names.map(generalName))),
    ski(keyId),
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    extension(OID_AKI, false, seq(tlv(0x80, issuer.keyId))),
  ];
}

function caExtensions(permitted: readonly string[] | undefined, keyId: Buffer): Buffer[] {
  return [
    // BasicConstraints ::= SEQUENCE { cA TRUE, pathLenConstraint 0 }
    extension(OID_BASIC_CONSTRAINTS, true, seq(tlv(BOOLEAN, Buffer.of(0xff)), tlv(INTEGER, Buffer.of(0)))),
    extension(OID_KEY_USAGE, true, tlv(BIT_STRING, KEY_USAGE.ca)),
    ...(permitted ? [nameConstraints(permitted)] : []),
    ski(keyId),
  ];
}

/**
 * The NameConstraints extension (RFC 5280 4.2.1.10, critical) permitting only `dnsSubtrees`:
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] SEQUENCE OF GeneralSubtree }, each
 * GeneralSubtree a SEQUENCE { base dNSName [2] IA5String }. A name is in a subtree when it is the
 * subtree's name or ends with "." + it, so the CA can sign nothing outside the Space's names.
 */
export function nameConstraints(dnsSubtrees: readonly string[]): Buffer {
  if (dnsSubtrees.length === 0) throw new Error('a Space CA needs at least one permitted DNS subtree');
  const subtrees = dnsSubtrees.map((n, i) => seq(tlv(0x82, ia5(n, `permitted[${i}]`))));
  return extension(oid(OID_NAME_CONSTRAINTS), true, seq(tlv(0xa0, ...subtrees)));
}

/** A SAN entry: iPAddress [7] (4 or 16 bytes) for an IP, else dNSName [2] (IA5String). */
function generalName(value: string, i: number): Buffer {
  if (isIP(value)) return tlv(0x87, Buffer.from(ipaddr.parse(value).toByteArray()));
  return tlv(0x82, ia5(value, `names[${i}]`));
}

/** IA5String contents: ASCII only (a DNS name in its A-label form). */
function ia5(s: string, field: string): Buffer {
  if (Buffer.byteLength(s, 'utf8') !== s.length)
    throw new Error(`${field}: "${s}" is not ASCII (use the A-label form of the name)`);
  return Buffer.from(s, 'latin1');
}
