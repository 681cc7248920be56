import 'reflect-metadata';
import { X509Certificate as NodeX509, generateKeyPairSync } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { issueSpaceCA, issueServingCert } from './certs.ts';
import {
  caFields,
  childrenOf,
  lengthOctets,
  oid,
  permittedDnsSubtrees,
  readTime,
  readTlv,
  seq,
  time,
  tlv,
} from './der.ts';
import { p256Der } from './issue.ts';
import { Lru, caSigningKey, issuedBy, keyMatches, validityOf } from './parsed.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const NOW = Date.parse('2026-03-01T00:00:00Z');

describe('the DER writer', () => {
  it('writes short and long lengths', () => {
    expect(hex(lengthOctets(0x7f))).toBe('7f');
    expect(hex(lengthOctets(0x80))).toBe('8180');
    expect(hex(lengthOctets(0x1234))).toBe('821234');
    expect(hex(tlv(0x04, Buffer.alloc(200))).slice(0, 6)).toBe('0481c8');
  });

  it('encodes object identifiers as OpenSSL does', () => {
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302'); // ecdsa-with-SHA256
    expect(hex(oid('2.5.29.17'))).toBe('0603551d11');
    expect(hex(oid('1.3.6.1.5.5.7.3.1'))).toBe('06082b06010505070301');
  });

  it.each([
    ['1950-01-01T00:00:00Z', '170d3530303130313030303030305a'],
    ['2049-12-31T23:59:59.999Z', '170d3439313233313233353935395a'],
    ['2050-01-01T00:00:00Z', '180f32303530303130313030303030305a'],
    ['1949-12-31T23:59:59Z', '180f31393439313233313233353935395a'],
  ])('%s: UTCTime only for 1950 to 2049, seconds precision', (iso, want) => {
    const t = time(Date.parse(iso));
    expect(hex(t)).toBe(want);
    expect(readTime(t, readTlv(t, 0))).toBe(Math.floor(Date.parse(iso) / 1000) * 1000);
  });
});

describe('P-256 keys', () => {
  it("writes SubjectPublicKeyInfo and PKCS#8 from the JWK byte for byte as OpenSSL's encoders", () => {
    for (let i = 0; i < 200; i++) {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const { spki, pkcs8 } = p256Der(privateKey);
      expect(hex(spki)).toBe(hex(publicKey.export({ type: 'spki', format: 'der' })));
      expect(hex(pkcs8)).toBe(hex(privateKey.export({ type: 'pkcs8', format: 'der' })));
    }
  });
});

describe('the DER reader', () => {
  it('refuses truncated input and an element longer than its parent', () => {
    expect(() => readTlv(Buffer.from('30', 'hex'), 0)).toThrow(/truncated/);
    expect(() => readTlv(Buffer.from('3005020101', 'hex'), 0)).toThrow(/runs past/);
    expect(() => readTlv(Buffer.from('3085ffffffffff', 'hex'), 0)).toThrow(/bad length/);
    // The child claims 3 bytes, its parent holds 2.
    const outer = Buffer.from('3002020300', 'hex');
    expect(() => childrenOf(outer, { tag: 0x30, start: 0, body: 2, end: 4 })).toThrow(/runs past/);
    expect(() => caFields(Buffer.from('300302017f', 'hex'))).toThrow(/TBSCertificate/);
  });

  it('reads only permitted dNSName subtrees, not excluded ones (checked with the ASN.1 schema)', () => {
    const nc = new NameConstraints({
      permittedSubtrees: new GeneralSubtrees([
        new GeneralSubtree({ base: new GeneralName({ dNSName: 'acme.internal' }) }),
        new GeneralSubtree({ base: new GeneralName({ rfc822Name: 'x@acme.internal' }) }),
      ]),
      excludedSubtrees: new GeneralSubtrees([
        new GeneralSubtree({ base: new GeneralName({ dNSName: 'evil.acme.internal' }) }),
      ]),
    });
    expect(permittedDnsSubtrees(new Uint8Array(AsnConvert.serialize(nc)))).toEqual(['acme.internal']);
    expect(permittedDnsSubtrees(seq())).toEqual([]);
  });

  it("reads a CA's subject, validity, SKI and constraints as OpenSSL does", async () => {
    const ca = await issueSpaceCA({
      space: 'acme',
      permitted: ['acme.internal', 'app.localspace'],
      now: NOW,
    });
    const x = new NodeX509(ca.cert);
    const f = caFields(x.raw);
    expect(f.notBefore).toBe(Date.parse(x.validFrom));
    expect(f.notAfter).toBe(Date.parse(x.validTo));
    expect(f.permitted).toEqual(['acme.internal', 'app.localspace']);
    expect(x.raw.includes(f.subject)).toBe(true);
    expect(f.subject.toString('latin1')).toContain(`privatespaces acme CA ${NOW.toString(36)}`);
    expect(f.keyId).toHaveLength(20);
  });
});

describe('parsed once', () => {
  it('an LRU keeps the most recently used entries', () => {
    const lru = new Lru<number>(2);
    let made = 0;
    const get = (k: string): number => lru.get(k, () => ++made);
    expect([get('a'), get('b'), get('a'), get('c')]).toEqual([1, 2, 1, 3]); // c evicts b, not a
    expect(lru.size).toBe(2);
    expect(get('a')).toBe(1);
    expect(get('b')).toBe(4); // made again
  });

  it('a remembered verdict is judged again when the key or the issuer differs', async () => {
    const ca = await issueSpaceCA({ space: 'acme', permitted: ['acme.internal'], now: NOW });
    const other = await issueSpaceCA({ space: 'acme', permitted: ['acme.internal'], now: NOW });
    const leaf = await issueServingCert(ca, { names: ['a.acme.internal'], now: NOW });
    expect(keyMatches(leaf.cert, leaf.key)).toBe(true);
    expect(keyMatches(leaf.cert, other.key)).toBe(false);
    expect(keyMatches(leaf.cert, 'not a key')).toBe(false);
    expect(keyMatches(leaf.cert, leaf.key)).toBe(true);
    expect(issuedBy(leaf.cert, ca.cert)).toBe(true);
    expect(issuedBy(leaf.cert, other.cert)).toBe(false);
    expect(issuedBy(leaf.cert, ca.cert)).toBe(true);
    expect(() => validityOf('garbage')).toThrow();
    expect(() => validityOf('garbage')).toThrow(); // a failed parse is not remembered as anything
  });

  it("signs with the key given, not the one remembered for the CA's certificate", async () => {
    const ca = await issueSpaceCA({ space: 'acme', permitted: ['acme.internal'], now: NOW });
    const other = await issueSpaceCA({ space: 'acme', permitted: ['acme.internal'], now: NOW });
    const first = caSigningKey(ca.cert, ca.key);
    expect(caSigningKey(ca.cert, ca.key)).toBe(first);
    expect(caSigningKey(ca.cert, other.key)).not.toBe(first);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsa = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => caSigningKey(ca.cert, rsa)).toThrow(/^tls.key: the CA key is rsa, not an EC/);
    // A CA certificate paired with a wrong key signs certificates that do not verify against it.
    const bad = await issueServingCert(
      { cert: ca.cert, key: other.key },
      { names: ['a.acme.internal'], now: NOW },
    );
    expect(new NodeX509(bad.cert).verify(new NodeX509(ca.cert).publicKey)).toBe(false);
  });
});
