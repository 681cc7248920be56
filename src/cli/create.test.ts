import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { appDnsNames } from '../model/index.ts';
import { makeSpace } from '../model/fixtures.ts';
import { CliError, EXIT } from './errors.ts';
import {
  buildApp,
  checkApp,
  createdOutput,
  createdView,
  formatCreated,
  type CreateAppOptions,
} from './create.ts';
import { expectGolden } from './testdata/golden.ts';

const acme = makeSpace('acme', { dnsDomain: 'acme.internal', trustedIPRanges: ['203.0.113.0/24'] });
const fir = makeSpace('firspace', { generation: 'fir' });

const opts = (o: Partial<CreateAppOptions> = {}): CreateAppOptions => ({
  name: 'billing',
  space: 'acme',
  internalRouting: true,
  domains: [],
  port: 5000,
  dnsDiscovery: true,
  acm: false,
  ...o,
});

function refusal(o: Partial<CreateAppOptions>, space = acme): CliError {
  try {
    checkApp(buildApp(opts(o), space), space);
  } catch (err) {
    return err as CliError;
  }
  throw new Error('expected a refusal');
}

describe('buildApp', () => {
  it("puts the App in its Space's namespace with the CRD's defaults", () => {
    const app = buildApp(opts({ domains: ['billing.acme.example'] }), acme);
    expect(app.metadata).toEqual({ name: 'billing', namespace: 'acme' });
    expect(app.spec).toEqual({
      internalRouting: true,
      port: 5000,
      acm: false,
      domains: ['billing.acme.example'],
    });
    // Discovery on is the CRD's "unset"; only off is written (fir refuses an explicit true).
    expect(buildApp(opts({ dnsDiscovery: false }), acme).spec.dnsDiscovery).toBe(false);
  });

  it('accepts a valid App', () => {
    expect(() => checkApp(buildApp(opts(), acme), acme)).not.toThrow();
  });
});

describe('checkApp refuses what the webhook refuses (exit 3)', () => {
  it.each<{ name: string; o: Partial<CreateAppOptions>; space?: typeof acme; field: string }>([
    { name: 'internal routing in a fir space', o: {}, space: fir, field: 'spec.internalRouting' },
    { name: 'ACM with internal routing', o: { acm: true }, field: 'spec.acm' },
    { name: 'port 0', o: { port: 0 }, field: 'spec.port' },
    { name: 'port 70000', o: { port: 70000 }, field: 'spec.port' },
    { name: 'a domain that is not a DNS name', o: { domains: ['Not..ok'] }, field: 'spec.domains[0]' },
    { name: 'a domain under app.localspace', o: { domains: ['x.app.localspace'] }, field: 'spec.domains[0]' },
    { name: 'a duplicate domain', o: { domains: ['a.example', 'a.example'] }, field: 'spec.domains[1]' },
    { name: 'a name that cannot name a Service', o: { name: '9lives' }, field: 'metadata.name' },
  ])('$name', ({ o, space, field }) => {
    const err = refusal(o, space);
    expect(err).toBeInstanceOf(CliError);
    expect(err.exitCode).toBe(EXIT.refused);
    expect(err.message).toContain(`  ${field}: `);
    expect(err.hint).toContain('nothing was sent');
  });

  it('names every problem, one line each', () => {
    const err = refusal({ acm: true, port: 0 });
    expect(err.message.split('\n')).toHaveLength(3);
  });
});

describe('createdView / formatCreated', () => {
  it('lists the names the model gives the app', () => {
    const app = buildApp(opts({ domains: ['billing.acme.example', 'api.acme.example'] }), acme);
    const v = createdView(app, acme);
    expect([v.defaultDomain, ...v.customDomains, v.discoveryName]).toEqual(appDnsNames(app, acme));
  });

  it('internal app with custom domains', () => {
    const app = buildApp(opts({ domains: ['billing.acme.example'] }), acme);
    expectGolden('create-internal.txt', formatCreated(createdView(app, acme)));
  });

  it('external app without DNS discovery, server dry run', () => {
    const app = buildApp(
      opts({ name: 'www', internalRouting: false, port: 8080, dnsDiscovery: false }),
      acme,
    );
    expectGolden('create-external.txt', formatCreated(createdView(app, acme, 'server')));
  });

  it('says when the trusted IP ranges let nobody in', () => {
    const closed = makeSpace('closed', { trustedIPRanges: [] });
    const app = buildApp(opts({ internalRouting: false }), closed);
    expect(createdView(app, closed).reachableFrom).toContain('nobody outside the Space');
  });

  it('marks a client dry run', () => {
    const app = buildApp(opts(), acme);
    expect(formatCreated(createdView(app, acme, 'client')).split('\n')[0]).toBe(
      'app.privatespaces.dev/billing created (dry run) in Space acme (namespace acme)',
    );
  });

  it('-o yaml prints the object without managedFields, like kubectl', () => {
    const app = buildApp(opts(), acme);
    const stored = { ...app, metadata: { ...app.metadata, uid: 'u1', managedFields: [{ manager: 'x' }] } };
    const out = parse(createdOutput(stored, acme, { output: 'yaml' })) as typeof stored;
    expect(out.metadata).toEqual({ name: 'billing', namespace: 'acme', uid: 'u1' });
    expect(JSON.parse(createdOutput(app, acme, { output: 'json' }))).toEqual(app);
  });
});
