import { describe, expect, it } from 'vitest';
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { makeApp, makeSpace } from './fixtures.ts';
import type { FieldError } from './types.ts';
import { validateApp, validateSpace } from './validate.ts';

const fields = (errors: FieldError[]): string[] => errors.map((e) => e.field);

describe('validateSpace', () => {
  it('accepts the defaults and the example', () => {
    expect(validateSpace(makeSpace('x', { cidr: '10.0.0.0/16' }))).toEqual([]);
    expect(
      validateSpace(makeSpace('acme', { dnsDomain: 'acme.internal', trustedIPRanges: ['203.0.113.0/24'] })),
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
      validateSpace(makeSpace('a', { trustedIPRanges: [], dnsDomain: 'a.example' }), makeSpace('a')),
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
  ])('accepts %s', (_name, app, space) => expect(validateApp(app, space)).toEqual([]));

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
    const errors = validateApp(app, space);
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
      validateApp(makeApp('b', { internalRouting: true, port: 8080, domains: ['b.example'] }), cedar, old),
    ).toEqual([]);
  });

  it('reports every problem at once', () => {
    const errors = validateApp(makeApp('b', { internalRouting: true, acm: true, port: 0 }), fir);
    expect(fields(errors).sort()).toEqual(['spec.acm', 'spec.internalRouting', 'spec.port']);
  });
});
