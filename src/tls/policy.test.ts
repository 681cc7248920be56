import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../engine/clock.ts';
import { makeApp, makeSpace } from '../model/fixtures.ts';
import { BACKDATE_MS, issueServingCert, issueSpaceCA, permittedSubtrees, validity } from './certs.ts';
import {
  PROPAGATION_MS,
  caBundle,
  caNextEvent,
  caPermitted,
  caReason,
  certificateNames,
  planCa,
  servingReason,
  tlsMode,
  tlsSecretName,
  splitPem,
  type CaState,
} from './policy.ts';

const DAY = 24 * 3600 * 1000;
const space = makeSpace('acme', { dnsDomain: 'acme.internal' });
const internal = makeApp('billing', { internalRouting: true, domains: ['Billing.acme.example'] });
const settings = { allowedDnsSuffixes: ['acme.example'] };

describe('modes and names', () => {
  it.each([
    [{ internalRouting: true }, 'operator'],
    [{ internalRouting: false }, 'none'],
    [{ internalRouting: false, tls: { mode: 'operator' as const } }, 'operator'],
    [{ internalRouting: true, tls: { mode: 'none' as const } }, 'none'],
    [{ internalRouting: true, tls: { mode: 'secret' as const, secretName: 'mine' } }, 'secret'],
  ])('%j → %s', (spec, mode) => {
    expect(tlsMode(makeApp('a', spec))).toBe(mode);
  });

  it('names the Secret <app>-tls unless spec.tls.secretName says otherwise', () => {
    expect(tlsSecretName(internal)).toBe('billing-tls');
    expect(tlsSecretName(makeApp('a', { tls: { secretName: 'x' } }))).toBe('x');
  });

  it('certifies exactly the App names; no discovery name in a fir Space or with discovery off', () => {
    expect(certificateNames(internal, space)).toEqual([
      'billing.acme.internal',
      'billing.acme.example',
      'web.billing.app.localspace',
    ]);
    const off = makeApp('billing', { internalRouting: true, dnsDiscovery: false });
    expect(certificateNames(off, space)).toEqual(['billing.acme.internal']);
  });

  it('constrains the CA to the Space domain, the discovery zone and the allowed suffixes, nested ones dropped', () => {
    expect(
      caPermitted(space, { allowedDnsSuffixes: ['Acme.Example.', 'x.acme.example', 'acme.internal'] }),
    ).toEqual(['acme.example', 'acme.internal', 'app.localspace']);
    expect(caPermitted(makeSpace('b'), { allowedDnsSuffixes: [] })).toEqual([
      'app.localspace',
      'b.spaces.local',
    ]);
  });
});

describe('renewal timing on the engine clock', () => {
  it('keeps a certificate until 2/3 of its life, then renews it', async () => {
    const clock = new FakeClock(Date.parse('2026-03-01T00:00:00Z'));
    const ca = await issueSpaceCA({
      space: 'acme',
      permitted: caPermitted(space, settings),
      now: clock.now(),
    });
    const names = certificateNames(internal, space);
    const leaf = await issueServingCert(ca, { names, now: clock.now() });
    expect(servingReason(leaf, ca, names, clock.now())).toBeUndefined();
    clock.advance(60 * DAY - 1000);
    expect(servingReason(leaf, ca, names, clock.now())).toBeUndefined();
    clock.advance(1000);
    expect(servingReason(leaf, ca, names, clock.now())).toBe('renewal-due');
    // A renewed one starts a new 90 days, from the clock's now.
    const next = await issueServingCert(ca, { names, now: clock.now() });
    expect(validity(next.cert).notAfter).toBe(clock.now() + 90 * DAY);
    expect(servingReason(next, ca, names, clock.now())).toBeUndefined();
  });

  it('re-issues at once when the names change, the CA changes or the key does not match', async () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    const ca = await issueSpaceCA({ space: 'acme', permitted: ['acme.internal', 'app.localspace'], now });
    const other = await issueSpaceCA({ space: 'acme', permitted: ['acme.internal', 'app.localspace'], now });
    const leaf = await issueServingCert(ca, { names: ['billing.acme.internal'], now });
    expect(servingReason(undefined, ca, ['billing.acme.internal'], now)).toBe('missing');
    expect(servingReason(leaf, ca, ['billing.acme.internal', 'web.billing.app.localspace'], now)).toBe(
      'names-changed',
    );
    // A name too many is as wrong as one too few: exactly the App's names.
    expect(servingReason(leaf, ca, [], now)).toBe('names-changed');
    expect(servingReason(leaf, other, ['billing.acme.internal'], now)).toBe('not-signed-by-ca');
    expect(servingReason({ cert: leaf.cert, key: other.key }, ca, ['billing.acme.internal'], now)).toBe(
      'key-mismatch',
    );
    expect(servingReason({ cert: 'garbage', key: leaf.key }, ca, ['billing.acme.internal'], now)).toBe(
      'invalid',
    );
  });

  it('short lifetimes are not due the moment they are made (backdating does not count)', async () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    const ca = await issueSpaceCA({ space: 'acme', permitted: ['acme.internal'], now });
    const leaf = await issueServingCert(ca, { names: ['billing.acme.internal'], now, lifetimeMs: 6000 });
    expect(validity(leaf.cert).notBefore).toBe(now - BACKDATE_MS);
    expect(servingReason(leaf, ca, ['billing.acme.internal'], now + 3000)).toBeUndefined();
    expect(servingReason(leaf, ca, ['billing.acme.internal'], now + 4000)).toBe('renewal-due');
  });
});

describe('CA rotation', () => {
  const permitted = ['acme.internal', 'app.localspace'];
  const o = (now: number): { space: string; permitted: string[]; now: number; caLifetimeMs: number } => ({
    space: 'acme',
    permitted,
    now,
    caLifetimeMs: 300 * DAY,
  });

  it('adds the next CA to the bundle first, signs with it only after the propagation delay, keeps the old one trusted', async () => {
    const clock = new FakeClock(Date.parse('2026-03-01T00:00:00Z'));
    expect(caReason(undefined, o(clock.now()))).toBe('missing');
    const first: CaState = await planCa(undefined, 'missing', o(clock.now()));
    expect(caReason(first, o(clock.now()))).toBeUndefined();
    expect(caNextEvent(first)).toBe(clock.now() + 200 * DAY);

    clock.advance(200 * DAY);
    expect(caReason(first, o(clock.now()))).toBe('renewal-due');
    const withNext = await planCa(first, 'renewal-due', o(clock.now()));
    expect(withNext.current).toBe(first.current); // still signing with the old one
    expect(splitPem(caBundle(withNext, clock.now()))).toHaveLength(2);
    expect(caReason(withNext, o(clock.now()))).toBeUndefined();

    clock.advance(PROPAGATION_MS);
    expect(caReason(withNext, o(clock.now()))).toBe('promoted');
    const promoted = await planCa(withNext, 'promoted', o(clock.now()));
    expect(promoted.current).toBe(withNext.next);
    expect(promoted.next).toBeUndefined();
    expect(promoted.previous).toEqual([first.current.cert]);
    const bundle = splitPem(caBundle(promoted, clock.now()));
    expect(bundle.map((p) => p.trim())).toEqual([promoted.current.cert.trim(), first.current.cert.trim()]);

    // Once the old CA has expired it leaves the bundle.
    clock.advance(101 * DAY);
    expect(splitPem(caBundle(promoted, clock.now()))).toHaveLength(1);
  });

  it('rotates (via a next CA) when the name constraints no longer fit the Space', async () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    const s = await planCa(undefined, 'missing', o(now));
    const wider = { ...o(now), permitted: [...permitted, 'acme.example'].sort() };
    expect(caReason(s, wider)).toBe('constraints-changed');
    const next = await planCa(s, 'constraints-changed', wider);
    expect(permittedSubtrees(next.next!.cert)).toEqual(['acme.example', 'acme.internal', 'app.localspace']);
  });

  it('replaces an expired or unusable CA at once', async () => {
    const now = Date.parse('2026-03-01T00:00:00Z');
    const s = await planCa(undefined, 'missing', o(now));
    expect(caReason(s, o(now + 301 * DAY))).toBe('expired');
    expect(caReason({ ...s, current: { cert: s.current.cert, key: 'nope' } }, o(now))).toBe('invalid');
    const replaced = await planCa(s, 'expired', o(now + 301 * DAY));
    expect(replaced.current.cert).not.toBe(s.current.cert);
    expect(replaced.previous).toEqual([]); // the expired one is trusted no more
  });
});
