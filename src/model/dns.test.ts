import { describe, expect, it } from 'vitest';
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { appDefaultDomain, appDnsNames, processDiscoveryName } from './dns.ts';
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
