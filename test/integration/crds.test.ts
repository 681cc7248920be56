// The CRDs against a real kube-apiserver: install them and the examples the way a user does
// (`kubectl apply -f`), and prove what the schema and its CEL rules refuse on their own. Rules
// that need another object (an internal App in a fir Space) are the webhook's: CEL cannot read it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { parse } from 'yaml';
import type { App } from '../../src/api/v1alpha1/app.ts';
import type { Space } from '../../src/api/v1alpha1/space.ts';
import { kubectl, type KubectlResult } from '../../tools/harness/kubectl.ts';
import { validateApp } from '../../src/model/index.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kubeconfig = testKubeconfig();
const k = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);

async function ok(args: string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Runs kubectl, expects a refusal, returns its message. */
async function refused(args: string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(' ')} should fail; stdout: ${r.stdout}`).not.toBe(0);
  return r.stderr;
}

async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok(['get', ...args, '-o', 'json'])) as T;
}

const TEST_SPACES = ['acme', 'crdtest-fir'];
const namespaceYaml = (name: string): string =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
const space = (name: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const app = (name: string, namespace: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n${spec}`;
const peering = (name: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Peering\nmetadata:\n  name: ${name}\n  namespace: acme\nspec:\n${spec}`;

beforeAll(async () => {
  await ok(['apply', '-f', path.join(repo, 'crds')]);
  await ok(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  // The operator creates a Space's namespace; none runs in this test, so make it here.
  for (const ns of TEST_SPACES) await ok(['apply', '-f', '-'], namespaceYaml(ns));
});

afterAll(async () => {
  await k(['delete', '-f', path.join(repo, 'examples'), '--ignore-not-found', '--wait=false']);
  await k([
    'delete',
    'apps.privatespaces.dev',
    '--all',
    '-n',
    'crdtest-fir',
    '--ignore-not-found',
    '--wait=false',
  ]);
  await k(['delete', 'spaces.privatespaces.dev', ...TEST_SPACES, '--ignore-not-found', '--wait=false']);
  await k(['delete', 'namespace', ...TEST_SPACES, '--ignore-not-found', '--wait=false']);
});

describe('installing', () => {
  it('kubectl apply -f examples/ succeeds and the apiserver fills the defaults', async () => {
    const out = await ok(['apply', '-f', path.join(repo, 'examples')]);
    expect(out).toMatch(/space.privatespaces.dev\/acme (created|unchanged|configured)/);
    const billing = await getJson<App>(['apps.privatespaces.dev', 'billing', '-n', 'acme']);
    expect(billing.spec).toEqual({
      internalRouting: true,
      port: 5000,
      domains: ['billing.acme.example'],
      acm: false,
    });
    const acme = await getJson<Space>(['spc', 'acme']);
    expect(acme.spec).toMatchObject({ cidr: '10.20.0.0/16', region: 'us', generation: 'cedar' });
  });

  it('kubectl explain app.spec.internalRouting shows the description', async () => {
    const out = await ok(['explain', 'app.spec.internalRouting']);
    expect(out).toContain('privatespaces.dev');
    expect(out.replace(/\s+/g, ' ')).toMatch(/Internal Routing: when true the web process is reachable only/);
    expect(out.replace(/\s+/g, ' ')).toMatch(/can never be turned on or off/);
  });

  it('short names, category and printer columns', async () => {
    const out = await ok(['get', 'privatespaces', '-n', 'acme']);
    expect(out).toMatch(/INTERNAL\s+CLUSTERIP\s+READY\s+AGE/);
    expect(out).toMatch(/TYPE\s+PHASE\s+CIDRS\s+AGE/);
    expect(await ok(['get', 'spc', 'acme'])).toMatch(
      /CIDR\s+GENERATION\s+READY\s+AGE\s+acme\s+10\.20\.0\.0\/16\s+cedar/,
    );
    expect(await ok(['get', 'papp', 'billing', '-n', 'acme'])).toMatch(/billing\s+true/);
    expect(await ok(['get', 'peer', 'office', '-n', 'acme'])).toMatch(/office\s+vpc/);
  });

  it('status is a subresource: writes to it leave spec alone and vice versa', async () => {
    await ok([
      'patch',
      'papp',
      'billing',
      '-n',
      'acme',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"clusterIP":"10.96.0.10","readyEndpoints":1},"spec":{"port":1234}}',
    ]);
    const billing = await getJson<App>(['papp', 'billing', '-n', 'acme']);
    expect(billing.status).toMatchObject({ clusterIP: '10.96.0.10', readyEndpoints: 1 });
    expect(billing.spec.port).toBe(5000);
  });
});

describe('Internal Routing is chosen at creation', () => {
  const apps = readFileSync(path.join(repo, 'examples', '02-apps.yaml'), 'utf8');

  it.each([
    [
      'kubectl apply, true → false',
      ['apply', '-f', '-'],
      apps.replace('internalRouting: true', 'internalRouting: false'),
    ],
    ['kubectl apply without the field', ['apply', '-f', '-'], apps.replace(/\n\s+internalRouting: true/, '')],
    [
      'kubectl patch --type=merge, true → false',
      ['patch', 'papp', 'billing', '-n', 'acme', '--type=merge', '-p', '{"spec":{"internalRouting":false}}'],
      undefined,
    ],
    [
      'kubectl patch --type=merge, removing it',
      ['patch', 'papp', 'billing', '-n', 'acme', '--type=merge', '-p', '{"spec":{"internalRouting":null}}'],
      undefined,
    ],
    [
      'kubectl patch --type=json, removing it',
      [
        'patch',
        'papp',
        'billing',
        '-n',
        'acme',
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/spec/internalRouting"}]',
      ],
      undefined,
    ],
    [
      'kubectl patch --type=merge, false → true',
      ['patch', 'papp', 'www', '-n', 'acme', '--type=merge', '-p', '{"spec":{"internalRouting":true}}'],
      undefined,
    ],
  ])('%s is refused, naming spec.internalRouting', async (_name, args, input) => {
    const message = await refused(args, input);
    expect(message).toContain(
      'spec.internalRouting is immutable: Internal Routing is chosen when the app is created',
    );
  });

  it('other changes to the App still go through', async () => {
    await ok(['patch', 'papp', 'billing', '-n', 'acme', '--type=merge', '-p', '{"spec":{"port":5001}}']);
    await ok(['apply', '-f', '-'], apps);
    expect((await getJson<App>(['papp', 'billing', '-n', 'acme'])).spec.internalRouting).toBe(true);
  });
});

describe('what CEL refuses', () => {
  it.each([
    ['a public Space CIDR', space('crdtest-public', '  cidr: 8.8.0.0/16\n'), ['spec.cidr', 'RFC 1918']],
    [
      'a Space CIDR that is not a /16',
      space('crdtest-small', '  cidr: 10.9.0.0/24\n'),
      ['spec.cidr must be a /16'],
    ],
    [
      'a Space CIDR with host bits',
      space('crdtest-host', '  cidr: 10.9.5.0/16\n'),
      ['spec.cidr must be written as a network address'],
    ],
    [
      'a malformed trusted range',
      space('crdtest-trusted', '  trustedIPRanges: ["203.0.113/24"]\n'),
      ['spec.trustedIPRanges', 'IPv4 CIDR'],
    ],
    [
      'a Space name that cannot name a namespace',
      space('crdtest.dotted', '  cidr: 10.9.0.0/16\n'),
      ['metadata.name must be a DNS label'],
    ],
    [
      'acm with internal routing',
      app('crdtest-acm', 'acme', '  internalRouting: true\n  acm: true\n'),
      ['spec.acm'],
    ],
    [
      'an empty selector',
      app('crdtest-sel', 'acme', '  selector:\n    matchLabels: {}\n'),
      ['spec.selector.matchLabels'],
    ],
    [
      'an App name that cannot name a Service',
      app('1crdtest', 'acme', '  port: 80\n'),
      ['metadata.name must be a DNS-1035 label'],
    ],
    [
      'a public peer CIDR',
      peering('crdtest-pub', '  type: vpc\n  cidrs: ["8.8.8.0/24"]\n'),
      ['spec.cidrs', 'RFC 1918'],
    ],
    [
      'a vpn without gateway',
      peering('crdtest-vpn', '  type: vpn\n  cidrs: ["192.168.60.0/24"]\n'),
      ['spec.peer.gatewayAddress is required'],
    ],
    ['a Peering without CIDRs', peering('crdtest-none', '  type: vpc\n  cidrs: []\n'), ['spec.cidrs']],
  ])('%s', async (_name, yaml, needles) => {
    const message = await refused(['apply', '-f', '-'], yaml);
    for (const n of needles) expect(message).toContain(n);
  });

  it.each([
    ['cidr', '{"spec":{"cidr":"10.21.0.0/16"}}', 'spec.cidr is immutable'],
    ['region', '{"spec":{"region":"eu"}}', 'spec.region is immutable'],
    ['generation', '{"spec":{"generation":"fir"}}', 'spec.generation is immutable'],
  ])('a change of the Space %s', async (_field, patch, needle) => {
    expect(await refused(['patch', 'spc', 'acme', '--type=merge', '-p', patch])).toContain(needle);
  });

  it('a change of the Peering type', async () => {
    const patch = '{"spec":{"type":"vpn","peer":{"gatewayAddress":"198.51.100.7"}}}';
    expect(await refused(['patch', 'peer', 'office', '-n', 'acme', '--type=merge', '-p', patch])).toContain(
      'spec.type is immutable',
    );
  });
});

describe('what CEL cannot see', () => {
  it('an internal App in a fir Space: CEL cannot read the Space, the webhook (the model) refuses it', async () => {
    await ok(['apply', '-f', '-'], space('crdtest-fir', '  cidr: 10.30.0.0/16\n  generation: fir\n'));
    const fir = await getJson<Space>(['spc', 'crdtest-fir']);
    const r = await k(['apply', '-f', '-'], app('internal', 'crdtest-fir', '  internalRouting: true\n'));
    if (r.code !== 0) {
      // A webhook is installed in this control plane: it must refuse for the right reason.
      expect(r.stderr).toContain('spec.internalRouting');
      return;
    }
    // The CRD alone admits it; the model, which the webhook runs, names the field.
    const served = await getJson<App>(['papp', 'internal', '-n', 'crdtest-fir']);
    expect(validateApp(served, fir).map((e) => e.field)).toEqual(['spec.internalRouting']);
  });
});

describe('crds/', () => {
  it('holds exactly the three CRDs', () => {
    const kinds = ['space', 'app', 'peering'].map(
      (f) =>
        (
          parse(readFileSync(path.join(repo, 'crds', `${f}.yaml`), 'utf8')) as {
            spec: { names: { kind: string } };
          }
        ).spec.names.kind,
    );
    expect(kinds).toEqual(['Space', 'App', 'Peering']);
  });
});
