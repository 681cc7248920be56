import 'reflect-metadata';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { NameConstraints } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { makeApp, makeSpace } from '../model/fixtures.ts';
import {
  BACKDATE_MS,
  SERVING_LIFETIME_MS,
  certNames,
  issueServingCert,
  issueSpaceCA,
  permittedSubtrees,
  renewAt,
  validity,
} from './certs.ts';
import { nameConstraints } from './issue.ts';
import { isCaCert, issuedBy, keyMatches } from './parsed.ts';
import { caPermitted, certificateNames } from './policy.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const space = makeSpace('acme', { dnsDomain: 'acme.internal' });
const app = makeApp('billing', { internalRouting: true, domains: ['billing.acme.example'] });
const permitted = caPermitted(space, { allowedDnsSuffixes: ['acme.example', 'acme.internal'] });
const names = certificateNames(app, space);
const ca = await issueSpaceCA({ space: 'acme', permitted, now: NOW });
const leaf = await issueServingCert(ca, { names, now: NOW });

const ext = <T extends x509.Extension>(pem: string, type: new (raw: ArrayBuffer) => T): T => {
  const found = new x509.X509Certificate(pem).getExtension(type);
  if (!found) throw new Error(`no ${type.name}`);
  return found;
};

describe('a Space CA', () => {
  it('is a CA with pathlen 0 and keyCertSign, critical', () => {
    const bc = ext(ca.cert, x509.BasicConstraintsExtension);
    expect(bc.ca).toBe(true);
    expect(bc.pathLength).toBe(0);
    expect(bc.critical).toBe(true);
    const ku = ext(ca.cert, x509.KeyUsagesExtension);
    expect(ku.usages & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(ku.usages & x509.KeyUsageFlags.cRLSign).toBeTruthy();
    expect(ku.usages & x509.KeyUsageFlags.digitalSignature).toBeFalsy();
    const node = new NodeX509(ca.cert);
    expect(node.ca).toBe(true);
    // Self-signed: its own key verifies it, and its subject is its issuer.
    expect(node.verify(node.publicKey)).toBe(true);
    expect(node.issuer).toBe(node.subject);
    expect(node.subject).toBe('CN=privatespaces acme CA ' + NOW.toString(36) + '\nO=privatespaces.dev');
  });

  it('is name-constrained to exactly the Space domain, the discovery zone and the allowed suffixes', () => {
    expect(permitted).toEqual(['acme.example', 'acme.internal', 'app.localspace']);
    expect(permittedSubtrees(ca.cert)).toEqual(permitted);
    const nc = new x509.X509Certificate(ca.cert).getExtension('2.5.29.30');
    expect(nc?.critical).toBe(true);
    // An independent decoder (the ASN.1 schema of RFC 5280) reads the same: permitted dNSNames only.
    const parsed = AsnConvert.parse(nc!.value, NameConstraints);
    expect(parsed.excludedSubtrees).toBeUndefined();
    expect(parsed.permittedSubtrees?.map((t) => t.base.dNSName)).toEqual(permitted);
  });

  it('refuses an empty constraint list (it would permit every name)', () => {
    expect(() => nameConstraints([])).toThrow(/at least one/);
  });
});

describe("an App's serving certificate", () => {
  it('carries exactly the App names as SANs, default domain first and as CN', () => {
    const san = ext(leaf.cert, x509.SubjectAlternativeNameExtension);
    expect(san.names.items.map((n) => [n.type, n.value])).toEqual([
      ['dns', 'billing.acme.internal'],
      ['dns', 'billing.acme.example'],
      ['dns', 'web.billing.app.localspace'],
    ]);
    expect(new x509.X509Certificate(leaf.cert).subject).toBe('CN=billing.acme.internal');
  });

  it('is not a CA; digitalSignature + keyEncipherment; EKU serverAuth only', () => {
    const bc = ext(leaf.cert, x509.BasicConstraintsExtension);
    expect(bc.ca).toBe(false);
    const ku = ext(leaf.cert, x509.KeyUsagesExtension);
    expect(ku.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    expect(ku.critical).toBe(true);
    const eku = ext(leaf.cert, x509.ExtendedKeyUsageExtension);
    expect(eku.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
    expect(new NodeX509(leaf.cert).ca).toBe(false);
  });

  it('is signed by the Space CA and by no other', async () => {
    const other = await issueSpaceCA({ space: 'other', permitted: ['other.internal'], now: NOW });
    const c = new NodeX509(leaf.cert);
    expect(c.checkIssued(new NodeX509(ca.cert))).toBe(true);
    expect(c.verify(new NodeX509(ca.cert).publicKey)).toBe(true);
    expect(c.verify(new NodeX509(other.cert).publicKey)).toBe(false);
  });

  it('lives 90 days from issue (backdated for skew), never beyond its CA, renewed at 2/3', async () => {
    const v = validity(leaf.cert);
    expect(v.notBefore).toBe(NOW - BACKDATE_MS);
    expect(v.notAfter).toBe(NOW + SERVING_LIFETIME_MS);
    expect(renewAt(leaf.cert)).toBe(NOW + 60 * 24 * 3600 * 1000);
    const shortCa = await issueSpaceCA({ space: 'acme', permitted, now: NOW, lifetimeMs: 24 * 3600 * 1000 });
    const capped = await issueServingCert(shortCa, { names, now: NOW });
    expect(validity(capped.cert).notAfter).toBe(validity(shortCa.cert).notAfter);
  });

  it('reports what a parse of the certificate it just issued would (nothing is parsed back)', async () => {
    const odd = NOW + 1234; // not on a whole second: DER times are
    const other = await issueSpaceCA({ space: 'acme', permitted, now: NOW });
    for (const lifetimeMs of [undefined, 3_600_500]) {
      const issued = await issueServingCert(ca, { names, now: odd, ...(lifetimeMs ? { lifetimeMs } : {}) });
      const parsed = new NodeX509(issued.cert);
      expect(validity(issued.cert)).toEqual({
        notBefore: Date.parse(parsed.validFrom),
        notAfter: Date.parse(parsed.validTo),
      });
      expect(certNames(issued.cert)).toEqual(names);
      expect(isCaCert(issued.cert)).toBe(false);
      expect(keyMatches(issued.cert, issued.key)).toBe(true);
      expect(keyMatches(issued.cert, other.key)).toBe(false);
      expect(issuedBy(issued.cert, ca.cert)).toBe(true);
      expect(issuedBy(issued.cert, other.cert)).toBe(false);
    }
  });

  it('needs a name', async () => {
    await expect(issueServingCert(ca, { names: [], now: NOW })).rejects.toThrow(/at least one name/);
  });
});
