import { describe, expect, it } from 'vitest';
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { makeApp, makeSpace } from './fixtures.ts';
import type { FieldError } from './types.ts';
import { platformSettings } from './settings.ts';
import { spaceDomainOverlapErrors, validateApp, validateSpace } from './validate.ts';

// The examples' suffixes (examples/01-space.yaml uses acme.internal, 02-apps.yaml billing.acme.example).
const allowing = platformSettings({ allowedDnsSuffixes: ['internal', 'example'] });

const fields = (errors: FieldError[]): string[] => errors.map((e) => e.field);

describe('validateSpace', () => {
  it('accepts the defaults and the example', () => {
    expect(validateSpace(makeSpace('x', { cidr: '10.0.0.0/16' }))).toEqual([]);
    expect(
      validateSpace(
        makeSpace('acme', { dnsDomain: 'acme.internal', trustedIPRanges: ['203.0.113.0/24'] }),
        undefined,
        allowing,
      ),
    ).toEqual([]);
    expect(validateSpace(makeSpace('acme', { trustedIPRanges: [] }))).toEqual([]);
  });

  it.each<[string, Space, string, RegExp]>([
    ['public CIDR', makeSpace('a', { cidr: '8.8.0.0/16' }), 'spec.cidr', /not a private range.*RFC 1918/],
    ['not a /16', makeSpace('a', { cidr: '10.0.0.0/24' }), 'spec.cidr', /is a \/24; a Space needs a \/16/],
    ['a /8', makeSpace('a', { cidr: '10.0.0.0/8' }), 'spec.cidr', /needs a \/16/],
    [
      'host bits',
      makeSpace('a', { cidr: '10.0.5.0/16' }),
      'spec.cidr',
      /host bits set; write the network address 10.0.0.0\/16/,
    ],
    [
      'garbage CIDR',
      makeSpace('a', { cidr: 'ten' }),
      'spec.cidr',
      /not an IPv4 CIDR; write it like 10.0.0.0\/16/,
    ],
    [
      'bad trusted range',
      makeSpace('a', { trustedIPRanges: ['0.0.0.0/0', '1.2.3/8'] }),
      'spec.trustedIPRanges[1]',
      /not an IPv4 CIDR/,
    ],
    [
      'trusted range with host bits',
      makeSpace('a', { trustedIPRanges: ['203.0.113.7/24'] }),
      'spec.trustedIPRanges[0]',
      /203.0.113.0\/24/,
    ],
    [
      'duplicate trusted range',
      makeSpace('a', { trustedIPRanges: ['1.0.0.0/8', '1.0.0.0/8'] }),
      'spec.trustedIPRanges[1]',
      /twice/,
    ],
    [
      '21 trusted ranges',
      makeSpace('a', { trustedIPRanges: Array.from({ length: 21 }, (_, i) => `10.${i}.0.0/16`) }),
      'spec.trustedIPRanges',
      /at most 20/,
    ],
    ['dotted name', makeSpace('a.b'), 'metadata.name', /DNS label/],
    ['system namespace', makeSpace('kube-system'), 'metadata.name', /system namespace/],
    ['bad region', makeSpace('a', { region: 'US East' }), 'spec.region', /region name/],
    ['bad generation', makeSpace('a', { generation: 'oak' as 'fir' }), 'spec.generation', /cedar or fir/],
    ['bad dnsDomain', makeSpace('a', { dnsDomain: 'Acme_Internal' }), 'spec.dnsDomain', /not a DNS name/],
    [
      'reserved dnsDomain',
      makeSpace('a', { dnsDomain: 'x.app.localspace' }),
      'spec.dnsDomain',
      /reserved for DNS service discovery/,
    ],
  ])('%s → %s', (_name, space, field, message) => {
    const errors = validateSpace(space);
    expect(fields(errors)).toEqual([field]);
    expect(errors[0]?.message).toMatch(message);
  });

  it.each([
    ['cidr', { cidr: '10.21.0.0/16' }],
    ['region', { region: 'eu' }],
    ['generation', { generation: 'fir' as const }],
  ])('refuses a change of %s', (field, change) => {
    const errors = validateSpace(makeSpace('a', change), makeSpace('a'));
    expect(fields(errors)).toEqual([`spec.${field}`]);
    expect(errors[0]?.message).toMatch(/immutable .*create a new Space/);
  });

  it('allows changing trusted ranges and dnsDomain', () => {
    expect(
      validateSpace(
        makeSpace('a', { trustedIPRanges: [], dnsDomain: 'a.example' }),
        makeSpace('a'),
        allowing,
      ),
    ).toEqual([]);
  });
});

describe('validateApp', () => {
  const cedar = makeSpace('acme');
  const fir = makeSpace('acme', { generation: 'fir' });

  it.each<[string, App, Space]>([
    ['external app', makeApp('www'), cedar],
    [
      'internal app with a domain',
      makeApp('billing', { internalRouting: true, domains: ['billing.acme.example'] }),
      cedar,
    ],
    ['external app on fir', makeApp('www'), fir],
    ['acm on an external app', makeApp('www', { acm: true }), cedar],
    [
      'selector',
      makeApp('www', { selector: { matchLabels: { 'privatespaces.dev/app': 'www', tier: 'web' } } }),
      cedar,
    ],
  ])('accepts %s', (_name, app, space) => expect(validateApp(app, space, undefined, allowing)).toEqual([]));

  it.each<[string, App, Space | undefined, string, RegExp]>([
    [
      'no Space',
      makeApp('www', {}, 'default'),
      undefined,
      'metadata.namespace',
      /namespace "default" belongs to no Space/,
    ],
    [
      'internal on fir',
      makeApp('b', { internalRouting: true }),
      fir,
      'spec.internalRouting',
      /not available in fir spaces/,
    ],
    [
      'acm + internal',
      makeApp('b', { internalRouting: true, acm: true }),
      cedar,
      'spec.acm',
      /set spec.acm to false/,
    ],
    ['port 0', makeApp('b', { port: 0 }), cedar, 'spec.port', /1 to 65535/],
    ['port 70000', makeApp('b', { port: 70000 }), cedar, 'spec.port', /1 to 65535/],
    [
      'empty selector',
      makeApp('b', { selector: { matchLabels: {} } }),
      cedar,
      'spec.selector.matchLabels',
      /every pod/,
    ],
    [
      'bad label key',
      makeApp('b', { selector: { matchLabels: { 'a/b/c': 'x' } } }),
      cedar,
      'spec.selector.matchLabels',
      /label key/,
    ],
    [
      'bad label value',
      makeApp('b', { selector: { matchLabels: { a: 'x y' } } }),
      cedar,
      'spec.selector.matchLabels[a]',
      /label value/,
    ],
    ['bad domain', makeApp('b', { domains: ['Not A Domain'] }), cedar, 'spec.domains[0]', /not a DNS name/],
    [
      'discovery domain',
      makeApp('b', { domains: ['web.b.app.localspace'] }),
      cedar,
      'spec.domains[0]',
      /DNS service discovery/,
    ],
    [
      'duplicate domain',
      makeApp('b', { domains: ['a.example', 'a.example'] }),
      cedar,
      'spec.domains[1]',
      /twice/,
    ],
    ['name starting with a digit', makeApp('1b'), cedar, 'metadata.name', /starting with a letter/],
  ])('%s → %s', (_name, app, space, field, message) => {
    const errors = validateApp(app, space, undefined, allowing);
    expect(fields(errors)).toEqual([field]);
    expect(errors[0]?.message).toMatch(message);
  });

  it.each([
    [false, true, /never be turned on/],
    [true, false, /never be turned off/],
  ])('refuses internalRouting %s → %s', (before, after, message) => {
    const errors = validateApp(
      makeApp('b', { internalRouting: after }),
      cedar,
      makeApp('b', { internalRouting: before }),
    );
    expect(fields(errors)).toEqual(['spec.internalRouting']);
    expect(errors[0]?.message).toMatch(
      /^spec.internalRouting is immutable: Internal Routing is chosen when the app is created/,
    );
    expect(errors[0]?.message).toMatch(message);
  });

  it('allows other changes on update', () => {
    const old = makeApp('b', { internalRouting: true });
    expect(
      validateApp(
        makeApp('b', { internalRouting: true, port: 8080, domains: ['b.example'] }),
        cedar,
        old,
        allowing,
      ),
    ).toEqual([]);
  });

  it('reports every problem at once', () => {
    const errors = validateApp(makeApp('b', { internalRouting: true, acm: true, port: 0 }), fir);
    expect(fields(errors).sort()).toEqual(['spec.acm', 'spec.internalRouting', 'spec.port']);
  });
});

describe('DNS names no one else can answer for (issue 16, attack 2)', () => {
  const acme = makeSpace('acme', { dnsDomain: 'acme.internal' });
  const none = platformSettings();
  const app = (domains: string[]): App => makeApp('billing', { internalRouting: true, domains });

  it('refuses a public custom domain by default, naming the field and the flag', () => {
    const errors = validateApp(app(['github.com']), makeSpace('acme'));
    expect(errors).toEqual([
      {
        field: 'spec.domains[0]',
        message:
          'github.com is not under an allowed suffix (none is allowed); use a name under acme.spaces.local, or ask the platform admin to allow it with --allowed-dns-suffixes',
      },
    ]);
  });

  it.each<[string, string[], Space, string[]]>([
    ["the App's own name under the Space's domain", ['www.billing.acme.internal'], acme, []],
    ['the default domain itself', ['billing.acme.spaces.local'], makeSpace('acme'), []],
    ["another App's name in the Space's domain", ['payments.acme.internal'], acme, ['spec.domains[0]']],
    ["the Space's domain itself", ['acme.internal'], acme, ['spec.domains[0]']],
    ['an allowed suffix, any depth', ['a.b.corp.example', 'corp.example'], acme, []],
    ['a look-alike of an allowed suffix', ['evilcorp.example'], acme, ['spec.domains[0]']],
    ['a public name', ['api.stripe.com', 'a.corp.example'], acme, ['spec.domains[0]']],
    ['the cluster domain', ['evil.svc.cluster.local'], acme, ['spec.domains[0]']],
    ['a reverse zone', ['10.in-addr.arpa'], acme, ['spec.domains[0]']],
  ])('custom domains: %s', (_name, domains, space, fields_) => {
    const settings = platformSettings({ allowedDnsSuffixes: ['.Corp.Example.'] });
    expect(fields(validateApp(app(domains), space, undefined, settings))).toEqual(fields_);
  });

  it.each<[string, string | undefined, readonly string[], RegExp | undefined]>([
    ['the default domain (unset)', undefined, [], undefined],
    ['the default domain, written out', 'acme.spaces.local', [], undefined],
    [
      "another Space's default domain",
      'other.spaces.local',
      [],
      /not under an allowed suffix \(none is allowed\)/,
    ],
    [
      'a public zone',
      'amazonaws.com',
      ['internal'],
      /amazonaws.com is not under an allowed suffix \(allowed: internal\)/,
    ],
    ['an allowed suffix', 'acme.internal', ['internal'], undefined],
    ['the cluster domain', 'cluster.local', ['local'], /in or above cluster.local/],
    ['above the cluster domain', 'local', ['local'], /in or above cluster.local/],
    ['a reverse zone', '10.in-addr.arpa', ['arpa'], /in or above in-addr.arpa/],
    ['the discovery zone', 'app.localspace', ['localspace'], /reserved for DNS service discovery/],
  ])('dnsDomain: %s', (_name, dnsDomain, allowed, message) => {
    const errors = validateSpace(
      makeSpace('acme', { dnsDomain }),
      undefined,
      platformSettings({ allowedDnsSuffixes: allowed }),
    );
    if (!message) return expect(errors).toEqual([]);
    expect(fields(errors)).toEqual(['spec.dnsDomain']);
    expect(errors[0]?.message).toMatch(message);
    expect(none.allowedDnsSuffixes).toEqual([]);
  });

  it.each<[string, string, RegExp | undefined]>([
    ['equal', 'acme.internal', /acme.internal is equal to acme.internal, the dnsDomain of Space acme/],
    ['inside', 'x.acme.internal', /x.acme.internal is inside acme.internal/],
    ['above', 'internal', /internal is above acme.internal/],
    ['beside', 'beta.internal', undefined],
  ])("a Space's dnsDomain %s another Space's is refused (capture)", (_name, dnsDomain, message) => {
    const errors = spaceDomainOverlapErrors(makeSpace('beta', { dnsDomain }), [acme, makeSpace('beta')]);
    if (!message) return expect(errors).toEqual([]);
    expect(fields(errors)).toEqual(['spec.dnsDomain']);
    expect(errors[0]?.message).toMatch(message);
  });
});
