import { describe, expect, it } from 'vitest';
import { decide } from '../admission.ts';
import { app, memLookup, request, space } from '../../../test/support/webhook-fixtures.ts';
import type { Decision } from '../types.ts';
import { DEFAULT_SETTINGS } from '../../model/settings.ts';
import { buildHandlers } from './index.ts';

const run = (...args: Parameters<typeof request>): Promise<Decision> =>
  decide(request(...args), buildHandlers(memLookup({})));

function denied(d: Decision): string {
  expect(d.allowed).toBe(false);
  return d.allowed ? '' : d.message;
}

describe('Space', () => {
  it('allows a valid space', async () => {
    expect(await run('CREATE', space('acme'))).toEqual({ allowed: true });
  });

  it.each([
    ['10.0.0.0/8', /spec\.cidr: 10\.0\.0\.0\/8 is a \/8; a Space needs a \/16/],
    ['8.8.0.0/16', /spec\.cidr: .*RFC 1918|spec\.cidr: .*private/i],
  ])('denies CIDR %s naming spec.cidr', async (cidr, re) => {
    expect(denied(await run('CREATE', space('acme', { cidr })))).toMatch(re);
  });

  it.each([
    ['cidr', { cidr: '10.2.0.0/16' }],
    ['generation', { generation: 'fir' as const }],
    ['region', { region: 'eu' }],
  ])('denies changing spec.%s', async (field, change) => {
    const msg = denied(await run('UPDATE', space('acme', change), space('acme')));
    expect(msg).toContain(`Space "acme" is invalid: spec.${field}: spec.${field} is immutable`);
  });

  it('allows changing the trusted IP ranges', async () => {
    const next = space('acme', { trustedIPRanges: ['203.0.113.0/24'] });
    expect(await run('UPDATE', next, space('acme'))).toEqual({ allowed: true });
  });

  it.each(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kube-flannel', 'spaces-system'])(
    'denies a Space named after the namespace %s, naming metadata.name',
    async (name) => {
      expect(denied(await run('CREATE', space(name)))).toMatch(
        new RegExp(
          `^Space "${name}" is invalid: metadata\\.name: Space "${name}" would take over the (system|operator's own) namespace ${name}; choose another name`,
        ),
      );
    },
  );

  it("denies the operator's namespace as configured, and allows spaces-system then", async () => {
    const handlers = buildHandlers(memLookup({}), {
      settings: { ...DEFAULT_SETTINGS, operatorNamespace: 'platform' },
    });
    const d = await decide(request('CREATE', space('platform')), handlers);
    expect(denied(d)).toContain("the operator's own namespace platform");
    expect(await decide(request('CREATE', space('spaces-system')), handlers)).toEqual({ allowed: true });
  });

  describe("a Space's domain against the other Spaces and their Apps' custom domains", () => {
    const settings = { ...DEFAULT_SETTINGS, allowedDnsSuffixes: ['example.com'] };
    const acme = space('acme', { dnsDomain: 'acme.example.com' });
    const billing = app('acme', 'billing', { domains: ['billing.shop.example.com'] });
    const handlers = buildHandlers(memLookup({ spaces: [acme], apps: [billing] }), { settings });
    const create = (dnsDomain: string) =>
      decide(request('CREATE', space('beta', { cidr: '10.1.0.0/16', dnsDomain })), handlers);

    it.each([
      ['acme.example.com', 'is equal to acme.example.com, the dnsDomain of Space acme'],
      ['x.acme.example.com', 'is inside acme.example.com, the dnsDomain of Space acme'],
      ['example.com', 'is above acme.example.com, the dnsDomain of Space acme'],
      [
        'shop.example.com',
        'is above billing.shop.example.com, a custom domain of App acme/billing in Space acme',
      ],
    ])('refuses dnsDomain %s, naming spec.dnsDomain and whose names it would take', async (domain, why) => {
      expect(denied(await create(domain))).toContain(
        `Space "beta" is invalid: spec.dnsDomain: ${domain} ${why}`,
      );
    });

    it('allows a domain of its own, and a change of the domain is judged the same way', async () => {
      expect(await create('beta.example.com')).toEqual({ allowed: true });
      const beta = space('beta', { cidr: '10.1.0.0/16', dnsDomain: 'beta.example.com' });
      const moved = space('beta', { cidr: '10.1.0.0/16', dnsDomain: 'shop.example.com' });
      expect(denied(await decide(request('UPDATE', moved, beta), handlers))).toContain('App acme/billing');
      // The Space itself is not "another Space".
      const self = buildHandlers(memLookup({ spaces: [beta] }), { settings });
      expect(await decide(request('CREATE', beta), self)).toEqual({ allowed: true });
    });
  });
});
