import { describe, expect, it } from 'vitest';
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import {
  allowedSuffixOf,
  appDefaultDomain,
  appDnsNames,
  normalizeSuffix,
  processDiscoveryName,
  reservedZoneOf,
  underSuffix,
} from './dns.ts';
import { makeApp, makeSpace } from './fixtures.ts';

const acme = makeSpace('acme', { dnsDomain: 'acme.internal' });

describe('appDnsNames', () => {
  it.each<[string, App, Space, string[]]>([
    [
      'default domain + discovery',
      makeApp('billing'),
      acme,
      ['billing.acme.internal', 'web.billing.app.localspace'],
    ],
    [
      'default dnsDomain',
      makeApp('billing'),
      makeSpace('acme'),
      ['billing.acme.spaces.local', 'web.billing.app.localspace'],
    ],
    [
      'custom domains sorted, lower-cased, de-duplicated',
      makeApp('billing', { domains: ['z.acme.example', 'Billing.Acme.Example', 'billing.acme.example'] }),
      acme,
      ['billing.acme.internal', 'billing.acme.example', 'z.acme.example', 'web.billing.app.localspace'],
    ],
    [
      'custom domain equal to the default',
      makeApp('billing', { domains: ['billing.acme.internal'] }),
      acme,
      ['billing.acme.internal', 'web.billing.app.localspace'],
    ],
    [
      'discovery off',
      makeApp('billing', { dnsDiscovery: false, domains: ['b.example'] }),
      acme,
      ['billing.acme.internal', 'b.example'],
    ],
    [
      'fir has no discovery',
      makeApp('www'),
      makeSpace('acme', { generation: 'fir' }),
      ['www.acme.spaces.local'],
    ],
  ])('%s', (_name, app, space, want) => expect(appDnsNames(app, space)).toEqual(want));
});

describe('name parts', () => {
  it.each([
    ['web', 'web.billing.app.localspace'],
    ['worker', 'worker.billing.app.localspace'],
  ])('%s → %s', (process, want) => expect(processDiscoveryName(makeApp('billing'), process)).toBe(want));
  it('default domain', () => expect(appDefaultDomain(makeApp('www'), acme)).toBe('www.acme.internal'));
});

describe('suffixes', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['a.b.example.com', 'example.com', true],
    ['A.Example.COM.', '.example.com', true],
    ['evilexample.com', 'example.com', false],
    ['example.com', 'a.example.com', false],
    ['example.com', '', false],
    ['example.com', '.', false],
  ])('%s under %s → %s', (name, suffix, want) => expect(underSuffix(name, suffix)).toBe(want));

  it('normalises and picks the first allowed suffix', () => {
    expect(normalizeSuffix(' .Corp.Example. ')).toBe('corp.example');
    expect(allowedSuffixOf('a.corp.example', ['internal', 'corp.example', 'example'])).toBe('corp.example');
    expect(allowedSuffixOf('a.corp.example', [])).toBeUndefined();
  });

  it.each([
    ['x.svc.cluster.local', 'cluster.local'],
    ['local', 'cluster.local'],
    ['1.10.in-addr.arpa', 'in-addr.arpa'],
    ['arpa', 'in-addr.arpa'],
    ['db.localhost', 'localhost'],
    ['localspace', 'app.localspace'],
    ['acme.internal', undefined],
  ])('%s is in or above the reserved zone %s', (name, zone) => expect(reservedZoneOf(name)).toBe(zone));
});
