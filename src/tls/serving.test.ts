// The serving certificate written by der.ts and signed with Node's crypto (issue #21), read back by
// two parsers that share no code with the writer: Node's X509Certificate (OpenSSL) and
// @peculiar/x509 with @peculiar/asn1-x509 (pure-JS ASN.1 schemas) as the oracle. Plus a real TLS
// handshake in-process, where OpenSSL checks the chain, the name constraints and the host name.
import 'reflect-metadata';
import { X509Certificate as NodeX509, createPrivateKey, webcrypto } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { BACKDATE_MS, SERVING_LIFETIME_MS, issueServingCert, issueSpaceCA, type KeyedCert } from './certs.ts';
import { servingReason } from './policy.ts';

const crypto = webcrypto as never;
// The oracle's own key and PEM helpers (webcrypto), for a CA made by @peculiar/x509.
const newKeys = (): Promise<webcrypto.CryptoKeyPair> =>
  webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const keyPem = async (key: webcrypto.CryptoKey): Promise<string> =>
  x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
const serial = (): string =>
  '01' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString('hex');
const NOW = Date.parse('2026-03-01T12:34:56Z');
const permitted = ['acme.example', 'acme.internal', 'app.localspace'];
const ca = await issueSpaceCA({ space: 'acme', permitted, now: NOW });
const caX = new NodeX509(ca.cert);
const caP = new x509.X509Certificate(ca.cert);
const caSki = caP.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;

const dnsNames = ['billing.acme.internal', 'billing.acme.example', 'web.billing.app.localspace'];
const ipNames = ['billing.acme.internal', '10.1.2.3', 'fd00::1'];

/** Every extension as the oracle reads it: [oid, critical], in order. */
const extList = (c: x509.X509Certificate): [string, boolean][] =>
  c.extensions.map((e) => [e.type, e.critical]);

async function checkWithOracle(
  leaf: KeyedCert,
  issuer: x509.X509Certificate,
  names: string[],
): Promise<void> {
  const c = new x509.X509Certificate(leaf.cert);
  expect(c.subject).toBe(`CN=${names[0]}`);
  expect(c.issuer).toBe(issuer.subject);
  expect(c.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
  expect(c.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/); // 16 bytes, positive
  expect(c.serialNumber.slice(0, 2)).not.toBe('00'); // minimal DER INTEGER
  expect(extList(c)).toEqual([
    ['2.5.29.19', true], // basicConstraints
    ['2.5.29.15', true], // keyUsage
    ['2.5.29.37', false], // extendedKeyUsage
    ['2.5.29.17', false], // subjectAltName
    ['2.5.29.14', false], // subjectKeyIdentifier
    ['2.5.29.35', false], // authorityKeyIdentifier
  ]);
  const bc = c.getExtension(x509.BasicConstraintsExtension)!;
  expect([bc.ca, bc.pathLength]).toEqual([false, undefined]);
  const ku = c.getExtension(x509.KeyUsagesExtension)!;
  expect(ku.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  expect(c.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
  const san = c.getExtension(x509.SubjectAlternativeNameExtension)!;
  expect(san.names.items.map((n) => n.value)).toEqual(names);
  // SKI: SHA-1 of the subjectPublicKey bits, as the oracle computes it; AKI: the issuer's SKI.
  const ownId = Buffer.from(await c.publicKey.getKeyIdentifier(crypto)).toString('hex');
  expect(c.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId).toBe(ownId);
  const issuerSki = issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const issuerId = issuerSki ?? Buffer.from(await issuer.publicKey.getKeyIdentifier(crypto)).toString('hex');
  expect(c.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(issuerId);
  // The oracle's own signature check (webcrypto, not OpenSSL).
  expect(await c.verify({ publicKey: issuer.publicKey, signatureOnly: true }, crypto)).toBe(true);
}

function checkWithNode(leaf: KeyedCert, issuer: NodeX509, names: string[], now: number): void {
  const c = new NodeX509(leaf.cert);
  expect(c.subject).toBe(`CN=${names[0]}`);
  expect(c.issuer).toBe(issuer.subject);
  expect(c.ca).toBe(false);
  expect(c.checkIssued(issuer)).toBe(true);
  expect(c.verify(issuer.publicKey)).toBe(true);
  expect(c.checkPrivateKey(createPrivateKey(leaf.key))).toBe(true);
  expect(c.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // Node's keyUsage is the EKU list
  expect(c.subjectAltName).toBe(names.map((n) => `DNS:${n}`).join(', '));
  for (const n of names) expect(c.checkHost(n)).toBe(n);
  expect(c.checkHost('other.acme.internal')).toBeUndefined();
  expect(Date.parse(c.validFrom)).toBe(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  expect(Date.parse(c.validTo)).toBe(Math.floor((now + SERVING_LIFETIME_MS) / 1000) * 1000);
}

describe('a serving certificate, read by two parsers', () => {
  it('DNS names only: every field and extension as the oracle reads it, and as OpenSSL reads it', async () => {
    const leaf = await issueServingCert(ca, { names: dnsNames, now: NOW });
    await checkWithOracle(leaf, caP, dnsNames);
    checkWithNode(leaf, caX, dnsNames, NOW);
  });

  it('IP addresses are iPAddress [7] entries (4 and 16 bytes), not DNS names', async () => {
    const leaf = await issueServingCert(ca, { names: ipNames, now: NOW });
    await checkWithOracle(leaf, caP, ipNames);
    const san = new x509.X509Certificate(leaf.cert).getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.names.items.map((n) => n.type)).toEqual(['dns', 'ip', 'ip']);
    const c = new NodeX509(leaf.cert);
    expect(c.subjectAltName).toBe(
      'DNS:billing.acme.internal, IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:1',
    );
    expect(c.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(c.checkIP('10.1.2.4')).toBeUndefined();
    expect(c.checkHost('10.1.2.3')).toBeUndefined(); // an IP is not a DNS name
  });

  it('times from 2050 are GeneralizedTime, before it UTCTime (RFC 5280 4.1.2.5)', async () => {
    const now = Date.parse('2049-12-15T08:00:00Z');
    const late = await issueSpaceCA({ space: 'acme', permitted, now });
    const leaf = await issueServingCert(late, { names: dnsNames, now });
    const v = AsnConvert.parse(new NodeX509(leaf.cert).raw, Certificate).tbsCertificate.validity;
    expect(v.notBefore.utcTime?.toISOString()).toBe('2049-12-15T07:55:00.000Z');
    expect(v.notBefore.generalTime).toBeUndefined();
    expect(v.notAfter.generalTime?.toISOString()).toBe('2050-03-15T08:00:00.000Z');
    expect(v.notAfter.utcTime).toBeUndefined();
    checkWithNode(leaf, new NodeX509(late.cert), dnsNames, now);
    await checkWithOracle(leaf, new x509.X509Certificate(late.cert), dnsNames);
  });

  it('copies the issuer Name byte for byte and falls back to SHA-1 of the key without an SKI', async () => {
    // A CA whose subject has UTF8String and PrintableString values and no SKI extension.
    const keys = await newKeys();
    const odd = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial(),
        name: 'CN=Ünïcode CA, O=privatespaces.dev',
        notBefore: new Date(NOW - BACKDATE_MS),
        notAfter: new Date(NOW + 365 * 24 * 3600 * 1000),
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
        extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
      },
      crypto,
    );
    const oddCa = { cert: odd.toString('pem'), key: await keyPem(keys.privateKey) };
    const leaf = await issueServingCert(oddCa, { names: dnsNames, now: NOW });
    const issuerRaw = AsnConvert.serialize(
      AsnConvert.parse(new NodeX509(leaf.cert).raw, Certificate).tbsCertificate.issuer,
    );
    const subjectRaw = AsnConvert.serialize(
      AsnConvert.parse(odd.rawData, Certificate).tbsCertificate.subject,
    );
    expect(Buffer.from(issuerRaw).equals(Buffer.from(subjectRaw))).toBe(true);
    await checkWithOracle(leaf, odd, dnsNames);
    checkWithNode(leaf, new NodeX509(oddCa.cert), dnsNames, NOW);
  });

  it('never outlives its CA', async () => {
    const shortCa = await issueSpaceCA({ space: 'acme', permitted, now: NOW, lifetimeMs: 3600 * 1000 });
    const leaf = await issueServingCert(shortCa, { names: dnsNames, now: NOW });
    expect(new NodeX509(leaf.cert).validTo).toBe(new NodeX509(shortCa.cert).validTo);
  });

  it('issued by another CA, even one with the same subject Name, does not verify', async () => {
    const twin = await issueSpaceCA({ space: 'acme', permitted, now: NOW }); // same CN, other key
    expect(new NodeX509(twin.cert).subject).toBe(caX.subject);
    const leaf = await issueServingCert(twin, { names: dnsNames, now: NOW });
    const c = new NodeX509(leaf.cert);
    expect(c.verify(caX.publicKey)).toBe(false);
    expect(c.checkIssued(caX)).toBe(false); // its AKI is the twin's SKI
    const p = new x509.X509Certificate(leaf.cert);
    expect(await p.verify({ publicKey: caP.publicKey, signatureOnly: true }, crypto)).toBe(false);
    expect(p.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).not.toBe(caSki);
    expect(servingReason(leaf, ca, dnsNames, NOW)).toBe('not-signed-by-ca');
    expect(servingReason(leaf, twin, dnsNames, NOW)).toBeUndefined();
  });

  it('refuses a name that is not ASCII, naming it', async () => {
    await expect(issueServingCert(ca, { names: ['bïlling.acme.internal'], now: NOW })).rejects.toThrow(
      /^names\[0\]: "bïlling.acme.internal" is not ASCII/,
    );
  });
});

describe('a serving certificate in a TLS handshake (OpenSSL: chain, name constraints, host name)', () => {
  async function handshake(leaf: KeyedCert, trust: string, servername: string): Promise<string> {
    const server = tls.createServer({ cert: leaf.cert, key: leaf.key }, (s) => s.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const sock = tls.connect({ host: '127.0.0.1', port, ca: trust, servername });
      const [err] = await Promise.race([
        once(sock, 'secureConnect').then(() => [undefined]),
        once(sock, 'error'),
      ]);
      sock.destroy();
      return err ? `${(err as { code?: string }).code}: ${(err as Error).message}` : 'verified';
    } finally {
      server.close();
    }
  }

  // The clock of these certificates is the real one: OpenSSL checks validity against it.
  it('verifies against its Space CA for each of its names, and not against another CA', async () => {
    const now = Date.now();
    const live = await issueSpaceCA({ space: 'acme', permitted, now });
    const other = await issueSpaceCA({ space: 'other', permitted: ['other.internal'], now });
    const leaf = await issueServingCert(live, { names: dnsNames, now });
    for (const n of dnsNames) expect(await handshake(leaf, live.cert, n)).toBe('verified');
    expect(await handshake(leaf, live.cert, 'payroll.acme.internal')).toMatch(
      /^ERR_TLS_CERT_ALTNAME_INVALID:/,
    );
    expect(await handshake(leaf, other.cert, dnsNames[0]!)).toMatch(/^UNABLE_TO_VERIFY_LEAF_SIGNATURE:/);
  });

  it('a name outside the CA name constraints is refused even when the CA signed it', async () => {
    const now = Date.now();
    const live = await issueSpaceCA({ space: 'acme', permitted, now });
    const leaf = await issueServingCert(live, { names: ['github.com'], now });
    expect(await handshake(leaf, live.cert, 'github.com')).toMatch(/permitted subtree violation/);
  });
});
