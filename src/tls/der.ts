// DER (X.690) for exactly the X.509 structures private TLS issues and reads (RFC 5280), with no
// ASN.1 library: a writer (`tlv` and the few primitives an App's serving certificate needs) and a
// reader (`readTlv`, `childrenOf`) that walks a CA certificate for the fields signing needs: its
// subject Name (copied byte for byte into the issuer field), validity, subject key identifier and
// name constraints. The reader accepts definite-length DER only and checks every length against
// its parent, so a truncated or overlong input throws instead of reading past it.
import { createHash } from 'node:crypto';

/** One DER element of `der`: its tag, where it starts, where its contents start and end. */
export interface Tlv {
  tag: number;
  start: number;
  body: number;
  end: number;
}

// Tags (X.690 8.x; context-specific tags as RFC 5280 uses them).
export const BOOLEAN = 0x01;
export const INTEGER = 0x02;
export const BIT_STRING = 0x03;
export const OCTET_STRING = 0x04;
export const OID = 0x06;
export const UTF8_STRING = 0x0c;
export const UTC_TIME = 0x17;
export const GENERALIZED_TIME = 0x18;
export const SEQUENCE = 0x30;
export const SET = 0x31;

// ---- writer ----

/** DER length octets: short form below 128, else 0x80 | the count of big-endian length bytes. */
export function lengthOctets(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.of(0x80 | bytes.length, ...bytes);
}

/** One element: tag, length, then the parts as its contents. */
export function tlv(tag: number, ...parts: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  return Buffer.concat([Buffer.of(tag), lengthOctets(len), ...parts]);
}

export const seq = (...parts: readonly Uint8Array[]): Buffer => tlv(SEQUENCE, ...parts);

/** An OBJECT IDENTIFIER: first byte 40·a + b, then each arc in base 128, high bit = "more follows". */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const septets: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) septets.unshift(0x80 | (v & 0x7f));
    out.push(...septets);
  }
  return tlv(OID, Buffer.from(out));
}

/** A BIT STRING of whole bytes (no unused bits): a public key, a signature. */
export const bitString = (bytes: Uint8Array): Buffer => tlv(BIT_STRING, Buffer.of(0), bytes);

/**
 * A certificate time (RFC 5280 4.1.2.5): UTCTime YYMMDDHHMMSSZ for the years 1950 to 2049,
 * GeneralizedTime YYYYMMDDHHMMSSZ otherwise. Seconds precision: milliseconds are dropped.
 */
export function time(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2026-03-01T00:00:00.000Z (years 0 to 9999)
  const year = Number(iso.slice(0, 4));
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  if (year >= 1950 && year < 2050) return tlv(UTC_TIME, Buffer.from(digits.slice(2), 'latin1'));
  return tlv(GENERALIZED_TIME, Buffer.from(digits, 'latin1'));
}

/** DER bytes as PEM the way @peculiar/x509 writes it: 64 columns, no newline after the footer. */
export function pem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = [`-----BEGIN ${label}-----`];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  lines.push(`-----END ${label}-----`);
  return lines.join('\n');
}

// ---- reader ----

/** The element of `der` at `at`, which must end by `limit` (its parent's end). */
export function readTlv(der: Uint8Array, at: number, limit = der.length): Tlv {
  if (at + 2 > limit) throw new Error(`DER: element truncated at byte ${at}`);
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new Error(`DER: multi-byte tag at byte ${at}`);
  let len = der[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new Error(`DER: bad length at byte ${at}`);
    len = 0;
    for (const b of der.subarray(body, body + n)) len = len * 256 + b;
    body += n;
  }
  if (body + len > limit) throw new Error(`DER: element at byte ${at} runs past its parent`);
  return { tag, start: at, body, end: body + len };
}

/** The elements inside a constructed element. */
export function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end;) {
    const t = readTlv(der, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

const bodyOf = (der: Uint8Array, t: Tlv): Buffer => Buffer.from(der.subarray(t.body, t.end));

/** A UTCTime or GeneralizedTime (the forms RFC 5280 allows: seconds, "Z") in ms since the epoch. */
export function readTime(der: Uint8Array, t: Tlv): number {
  const s = bodyOf(der, t).toString('latin1');
  const full = t.tag === UTC_TIME ? (Number(s.slice(0, 2)) >= 50 ? '19' : '20') + s : s;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(full);
  if (!m || (t.tag !== UTC_TIME && t.tag !== GENERALIZED_TIME)) throw new Error(`DER: bad time "${s}"`);
  const [, y, mo, d, h, mi, sec] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, sec);
}

/** What signing with a CA and judging its constraints need, read from its certificate's DER. */
export interface CaFields {
  /** The subject Name, the whole SEQUENCE as it is encoded (becomes the issuer of what it signs). */
  subject: Buffer;
  notBefore: number;
  notAfter: number;
  /** The subject key identifier: the SKI extension's, else SHA-1 of the public key (RFC 5280 4.2.1.2). */
  keyId: Buffer;
  /** The dNSName bases of the name constraints' permittedSubtrees (empty without the extension). */
  permitted: string[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const OID_SKI = '2.5.29.14';
export const OID_NAME_CONSTRAINTS = '2.5.29.30';

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }: the TBS fields. */
export function caFields(der: Uint8Array): CaFields {
  const [tbs] = childrenOf(der, readTlv(der, 0));
  if (tbs?.tag !== SEQUENCE) throw new Error('DER: a certificate starts with its TBSCertificate');
  // version [0] EXPLICIT is optional (v1); then serial, signature, issuer, validity, subject, spki.
  const fields = childrenOf(der, tbs);
  const rest = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
  const [, , , validity, subject, spki, ...optional] = rest;
  if (!validity || !subject || !spki) throw new Error('DER: a TBSCertificate lacks its subject or key');
  const [notBefore, notAfter] = childrenOf(der, validity).map((t) => readTime(der, t));
  const extensions = readExtensions(
    der,
    optional.find((t) => t.tag === 0xa3),
  );
  const ski = extensions.get(hex(oid(OID_SKI)));
  const nc = extensions.get(hex(oid(OID_NAME_CONSTRAINTS)));
  return {
    subject: Buffer.from(der.subarray(subject.start, subject.end)),
    notBefore: notBefore!,
    notAfter: notAfter!,
    keyId: ski ? bodyOf(ski, readTlv(ski, 0)) : keyIdentifier(subjectPublicKey(der, spki)),
    permitted: nc ? permittedDnsSubtrees(nc) : [],
  };
}

/** The subjectPublicKey BIT STRING's bytes (after its unused-bits octet) of a SubjectPublicKeyInfo. */
export function subjectPublicKey(der: Uint8Array, spki: Tlv): Buffer {
  const key = childrenOf(der, spki)[1];
  if (key?.tag !== BIT_STRING) throw new Error('DER: SubjectPublicKeyInfo lacks its BIT STRING');
  return Buffer.from(der.subarray(key.body + 1, key.end));
}

/** RFC 5280 4.2.1.2 method (1), as @peculiar/x509's SubjectKeyIdentifierExtension.create does. */
export function keyIdentifier(subjectPublicKeyBits: Uint8Array): Buffer {
  return createHash('sha1').update(subjectPublicKeyBits).digest();
}

/** extensions [3] EXPLICIT SEQUENCE OF Extension { extnID, critical DEFAULT FALSE, extnValue }. */
function readExtensions(der: Uint8Array, wrapper: Tlv | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const list = wrapper ? childrenOf(der, wrapper)[0] : undefined;
  for (const ext of list ? childrenOf(der, list) : []) {
    const parts = childrenOf(der, ext);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (id?.tag !== OID || value?.tag !== OCTET_STRING) throw new Error('DER: malformed extension');
    out.set(hex(der.subarray(id.start, id.end)), bodyOf(der, value));
  }
  return out;
}

/**
 * NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL, excludedSubtrees
 * [1] … }; GeneralSubtree ::= SEQUENCE { base GeneralName, … }: the bases that are dNSName [2].
 */
export function permittedDnsSubtrees(value: Uint8Array): string[] {
  const permitted = childrenOf(value, readTlv(value, 0)).find((t) => t.tag === 0xa0);
  if (!permitted) return [];
  return childrenOf(value, permitted)
    .map((subtree) => childrenOf(value, subtree)[0])
    .filter((base) => base?.tag === 0x82)
    .map((base) => bodyOf(value, base!).toString('latin1'));
}
