import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { makeApp, makeSpace } from '../model/fixtures.ts';
import { issueServingCert, issueSpaceCA } from './certs.ts';
import { certificateNames } from './policy.ts';
import { sanCovers, tlsSpecErrors, userSecretErrors } from './validate.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const space = makeSpace('acme', { dnsDomain: 'acme.internal' });
const app = makeApp('billing', {
  internalRouting: true,
  domains: ['billing.acme.example'],
  tls: { mode: 'secret', secretName: 'mine' },
});
const names = certificateNames(app, space);
const ca = await issueSpaceCA({
  space: 'user',
  permitted: ['acme.internal', 'acme.example', 'app.localspace'],
  now: NOW,
});
const tlsSecret = (
  cert: string,
  key: string,
  type = 'kubernetes.io/tls',
): { type: string; data: Record<string, string> } => ({
  type,
  data: { 'tls.crt': b64(cert), 'tls.key': b64(key) },
});

describe('spec.tls on its own', () => {
  it.each([
    [{}, []],
    [{ mode: 'operator' }, []],
    [{ mode: 'secret' }, ['spec.tls.secretName']],
    [{ mode: 'none', secretName: 'x' }, ['spec.tls.secretName']],
    [{ mode: 'sometimes' }, ['spec.tls.mode']],
  ])('%j → %j', (tls, fields) => {
    const errors = tlsSpecErrors(makeApp('a', { tls: tls as never }));
    expect(errors.map((e) => e.field)).toEqual(fields);
    for (const e of errors) expect(e.message).toContain(e.field);
  });
});

describe("the user's own Secret (mode secret)", () => {
  it('passes when it covers every name of the App and its key matches', async () => {
    const own = await issueServingCert(ca, { names, now: NOW });
    expect(userSecretErrors(app, tlsSecret(own.cert, own.key), names, NOW)).toEqual([]);
  });

  it('accepts a wildcard one label deep, not deeper', () => {
    expect(sanCovers('*.acme.internal', 'billing.acme.internal')).toBe(true);
    expect(sanCovers('*.acme.internal', 'a.billing.acme.internal')).toBe(false);
    expect(sanCovers('*.acme.internal', 'acme.internal')).toBe(false);
  });

  it('names the field and the missing names when it does not cover the App', async () => {
    const partial = await issueServingCert(ca, { names: ['billing.acme.internal'], now: NOW });
    const errors = userSecretErrors(app, tlsSecret(partial.cert, partial.key), names, NOW);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.field).toBe('spec.tls.secretName');
    expect(errors[0]!.message).toContain('does not cover billing.acme.example, web.billing.app.localspace');
  });

  it('refuses a missing Secret, another type, a foreign key and an expired certificate', async () => {
    const own = await issueServingCert(ca, { names, now: NOW });
    const other = await issueServingCert(ca, { names, now: NOW });
    expect(userSecretErrors(app, undefined, names, NOW)[0]!.message).toMatch(
      /Secret acme\/mine does not exist/,
    );
    expect(userSecretErrors(app, tlsSecret(own.cert, own.key, 'Opaque'), names, NOW)[0]!.message).toMatch(
      /type Opaque, not kubernetes.io\/tls/,
    );
    expect(userSecretErrors(app, tlsSecret(own.cert, other.key), names, NOW)[0]!.message).toMatch(
      /tls.key is not the key of tls.crt/,
    );
    expect(
      userSecretErrors(app, tlsSecret(own.cert, own.key), names, NOW + 91 * 24 * 3600 * 1000)[0]!.message,
    ).toMatch(/expired at/);
    expect(userSecretErrors(app, { type: 'kubernetes.io/tls', data: {} }, names, NOW)[0]!.message).toMatch(
      /no tls.crt/,
    );
  });
});
