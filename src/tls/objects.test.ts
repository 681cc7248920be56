import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { makeApp, makeSpace } from '../model/fixtures.ts';
import { issueServingCert } from './certs.ts';
import {
  caBundleConfigMap,
  caSecret,
  caStateOf,
  certManagerCertificate,
  keyedCertOf,
  ownedBy,
  parseTlsIssuer,
  servingSecret,
} from './objects.ts';
import { caBundle, certificateNames, planCa } from './policy.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const space = makeSpace('acme', { dnsDomain: 'acme.internal' });
const app = makeApp('billing', { internalRouting: true, domains: ['billing.acme.example'] });
const names = certificateNames(app, space);
const state = await planCa(undefined, 'missing', {
  space: 'acme',
  permitted: ['acme.internal', 'app.localspace'],
  now: NOW,
});

describe('the CA Secret', () => {
  it("lives in the operator's namespace, owned by the Space, and reads back as the same state", () => {
    const s = caSecret(space, state, 'spaces-system', NOW);
    expect(s.metadata?.namespace).toBe('spaces-system');
    expect(s.metadata?.name).toBe('privatespaces-ca-acme');
    expect(s.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Space',
      name: 'acme',
      uid: 'uid-acme',
      controller: true,
    });
    expect(s.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'spaces-operator',
      'privatespaces.dev/tls': 'ca',
    });
    expect(caStateOf(s)).toEqual({ current: state.current, previous: [] });
    expect(ownedBy(s, 'uid-acme')).toBe(true);
    expect(ownedBy(s, 'uid-other')).toBe(false);
  });
});

describe("an App's serving Secret", () => {
  it('is kubernetes.io/tls in the App namespace with tls.crt, tls.key and ca.crt, and no CA key', async () => {
    const leaf = await issueServingCert(state.current, { names, now: NOW });
    const bundle = caBundle(state, NOW);
    const s = servingSecret(app, 'acme', leaf, bundle);
    expect(s.type).toBe('kubernetes.io/tls');
    expect(s.metadata).toMatchObject({ name: 'billing-tls', namespace: 'acme' });
    expect(Object.keys(s.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(Buffer.from(s.data!['ca.crt']!, 'base64').toString()).toBe(bundle);
    expect(JSON.stringify(s)).not.toContain(Buffer.from(state.current.key).toString('base64'));
    expect(keyedCertOf(s)).toEqual(leaf);
    expect(s.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'App',
      name: 'billing',
      uid: 'uid-billing',
    });
    expect(ownedBy(s, 'uid-billing')).toBe(true);
  });

  it('a user Secret without our labels or owner is never ours', () => {
    expect(ownedBy({ metadata: { labels: {} } }, 'uid-billing')).toBe(false);
    expect(
      ownedBy(
        {
          metadata: {
            labels: { 'app.kubernetes.io/managed-by': 'spaces-operator', 'privatespaces.dev/tls': 'serving' },
          },
        },
        'uid-billing',
      ),
    ).toBe(false);
  });
});

describe('the CA bundle ConfigMap', () => {
  it('follows trust-manager: privatespaces-ca with key ca.crt, in the Space namespace', () => {
    const cm = caBundleConfigMap(space, 'acme', 'PEM');
    expect(cm).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'privatespaces-ca', namespace: 'acme' },
      data: { 'ca.crt': 'PEM' },
    });
  });
});

describe('cert-manager mode', () => {
  it('parses --tls-issuer', () => {
    expect(parseTlsIssuer(undefined)).toBeUndefined();
    expect(parseTlsIssuer('operator')).toBeUndefined();
    expect(parseTlsIssuer('cert-manager:ClusterIssuer/private-ca')).toEqual({
      kind: 'ClusterIssuer',
      name: 'private-ca',
    });
    expect(parseTlsIssuer('cert-manager:Issuer/space-ca')).toEqual({ kind: 'Issuer', name: 'space-ca' });
    expect(parseTlsIssuer('cert-manager:private-ca')).toEqual({ kind: 'ClusterIssuer', name: 'private-ca' });
    expect(() => parseTlsIssuer('vault:x')).toThrow(/--tls-issuer/);
  });

  it('renders a Certificate for exactly the App names, renewed at 2/3, server auth, in the App namespace', () => {
    const c = certManagerCertificate(app, 'acme', names, { kind: 'Issuer', name: 'space-ca' });
    expect(c).toEqual({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: {
        name: 'billing-tls',
        namespace: 'acme',
        labels: {
          'app.kubernetes.io/managed-by': 'spaces-operator',
          'privatespaces.dev/app': 'billing',
          'privatespaces.dev/space': 'acme',
          'privatespaces.dev/tls': 'serving',
        },
        ownerReferences: [
          {
            apiVersion: 'privatespaces.dev/v1alpha1',
            kind: 'App',
            name: 'billing',
            uid: 'uid-billing',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        secretName: 'billing-tls',
        commonName: 'billing.acme.internal',
        dnsNames: ['billing.acme.internal', 'billing.acme.example', 'web.billing.app.localspace'],
        duration: '2160h',
        renewBeforePercentage: 33,
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        usages: ['digital signature', 'key encipherment', 'server auth'],
        issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: 'space-ca' },
        secretTemplate: {
          labels: {
            'app.kubernetes.io/managed-by': 'spaces-operator',
            'privatespaces.dev/app': 'billing',
            'privatespaces.dev/space': 'acme',
            'privatespaces.dev/tls': 'serving',
          },
        },
      },
    });
  });
});
