import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  certNames,
  generateCA,
  issueServingCert,
  needsRotation,
  renew,
  renewReason,
  servingNames,
  splitPem,
} from './certs.ts';

const DAY = 24 * 60 * 60 * 1000;
const names = servingNames({
  serviceName: 'spaces-operator-webhook',
  namespace: 'spaces-system',
  hosts: ['127.0.0.1'],
});

describe('servingNames', () => {
  it("lists the Service's in-cluster names and the extra hosts", () => {
    expect(names).toEqual([
      'spaces-operator-webhook.spaces-system.svc',
      'spaces-operator-webhook.spaces-system.svc.cluster.local',
      '127.0.0.1',
    ]);
  });

  it('honours another cluster domain and drops duplicates', () => {
    const n = servingNames({
      serviceName: 's',
      namespace: 'n',
      clusterDomain: 'corp.local',
      hosts: ['s.n.svc', 'localhost'],
    });
    expect(n).toEqual(['s.n.svc', 's.n.svc.corp.local', 'localhost']);
  });
});

describe('generateCA / issueServingCert', () => {
  it('makes a 10-year CA and a 1-year serving certificate it signed, with every name', async () => {
    const now = new Date('2025-06-01T00:00:00Z');
    const ca = await generateCA(now);
    const leaf = await issueServingCert(ca, names, now);
    const caX = new X509Certificate(ca.cert);
    const leafX = new X509Certificate(leaf.cert);
    expect(caX.ca).toBe(true);
    expect(Date.parse(caX.validTo) - now.getTime()).toBeCloseTo(3650 * DAY, -6);
    expect(leafX.ca).toBe(false);
    expect(Date.parse(leafX.validTo) - now.getTime()).toBeCloseTo(365 * DAY, -6);
    expect(leafX.checkIssued(caX)).toBe(true);
    expect(leafX.verify(caX.publicKey)).toBe(true);
    expect(certNames(leaf.cert)).toEqual(names);
    expect(leafX.keyUsage ?? []).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
    // IPs are iPAddress entries, names dNSName entries.
    expect(leafX.subjectAltName).toBe(
      'DNS:spaces-operator-webhook.spaces-system.svc, DNS:spaces-operator-webhook.spaces-system.svc.cluster.local, IP Address:127.0.0.1',
    );
    expect(leafX.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(caX.verify(caX.publicKey)).toBe(true); // self-signed
    expect(ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('never outlives its CA', async () => {
    const now = new Date();
    const ca = await generateCA(now, 100);
    const leaf = await issueServingCert(ca, ['x.y.svc'], now, 365);
    expect(Date.parse(new X509Certificate(leaf.cert).validTo)).toBeLessThanOrEqual(
      Date.parse(new X509Certificate(ca.cert).validTo),
    );
  });
});

describe('needsRotation', () => {
  it('is false for a fresh certificate and true within the threshold or after expiry', async () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const { cert } = await generateCA(now, 365);
    expect(needsRotation(cert, now)).toBe(false);
    expect(needsRotation(cert, new Date(now.getTime() + 334 * DAY))).toBe(false);
    expect(needsRotation(cert, new Date(now.getTime() + 336 * DAY))).toBe(true);
    expect(needsRotation(cert, new Date(now.getTime() + 336 * DAY), 20)).toBe(false);
    expect(needsRotation(cert, new Date(now.getTime() + 400 * DAY))).toBe(true);
    expect(needsRotation(cert, new Date(now.getTime() - 10 * DAY))).toBe(true); // not valid yet
    expect(needsRotation('garbage')).toBe(true);
  });
});

describe('renewReason / renew', () => {
  const t0 = new Date('2025-01-01T00:00:00Z');

  it('creates everything when missing, then finds nothing to do', async () => {
    expect(renewReason(undefined, { names })).toBe('missing');
    const b = await renew(undefined, 'missing', { names, now: t0 });
    expect(renewReason(b, { names, now: t0 })).toBeUndefined();
    expect(splitPem(b.caBundle)).toHaveLength(1);
  });

  it('re-issues only the serving certificate when it is due, keeping the CA and the bundle', async () => {
    const b = await renew(undefined, 'missing', { names, now: t0 });
    const later = new Date(t0.getTime() + 340 * DAY);
    expect(renewReason(b, { names, now: later })).toBe('cert-expiring');
    const next = await renew(b, 'cert-expiring', { names, now: later });
    expect(next.caCert).toBe(b.caCert);
    expect(next.caBundle).toBe(b.caBundle);
    expect(next.cert).not.toBe(b.cert);
    expect(renewReason(next, { names, now: later })).toBeUndefined();
  });

  it('re-issues when a name is missing (e.g. a new host)', async () => {
    const b = await renew(undefined, 'missing', { names, now: t0 });
    expect(renewReason(b, { names: [...names, 'localhost'], now: t0 })).toBe('names-changed');
  });

  it('rotates the CA when it is due, keeping the old CA in the bundle while it is valid', async () => {
    const b = await renew(undefined, 'missing', { names, now: t0, caValidityDays: 400 });
    const later = new Date(t0.getTime() + 380 * DAY);
    expect(renewReason(b, { names, now: later })).toBe('ca-expiring');
    const next = await renew(b, 'ca-expiring', { names, now: later });
    expect(next.caCert).not.toBe(b.caCert);
    const bundle = splitPem(next.caBundle).map((p) => new X509Certificate(p).fingerprint256);
    expect(bundle).toEqual([
      new X509Certificate(next.caCert).fingerprint256,
      new X509Certificate(b.caCert).fingerprint256,
    ]);
    expect(renewReason(next, { names, now: later })).toBeUndefined();
  });

  it('starts over when the parts do not belong together', async () => {
    const a = await renew(undefined, 'missing', { names, now: t0 });
    const b = await renew(undefined, 'missing', { names, now: t0 });
    expect(renewReason({ ...a, key: b.key }, { names, now: t0 })).toBe('key-mismatch');
    expect(renewReason({ ...a, cert: b.cert, key: b.key }, { names, now: t0 })).toBe('not-signed-by-ca');
    expect(renewReason({ ...a, caKey: b.caKey }, { names, now: t0 })).toBe('invalid');
    expect(renewReason({ ...a, caBundle: b.caBundle }, { names, now: t0 })).toBe('invalid');
  });
});
