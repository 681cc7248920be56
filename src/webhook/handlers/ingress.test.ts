import type { V1IngressSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { decide } from '../admission.ts';
import { app, memLookup, request, space, type World } from '../../../test/support/webhook-fixtures.ts';
import type { Decision, KubeObject } from '../types.ts';
import { buildHandlers } from './index.ts';

const world: World = {
  spaces: [space('acme')],
  apps: [app('acme', 'api', { internalRouting: true }), app('acme', 'www')],
  services: [
    {
      metadata: { name: 'sneaky', namespace: 'acme' },
      spec: { type: 'ClusterIP', selector: { 'privatespaces.dev/app': 'api' } },
    },
    { metadata: { name: 'second', namespace: 'acme' }, spec: { selector: { tier: 'x' } } },
    { metadata: { name: 'public', namespace: 'acme' }, spec: { selector: { tier: 'public' } } },
  ],
  pods: [
    { metadata: { name: 'api-7', namespace: 'acme', labels: { 'privatespaces.dev/app': 'api', tier: 'x' } } },
    {
      metadata: {
        name: 'www-1',
        namespace: 'acme',
        labels: { 'privatespaces.dev/app': 'www', tier: 'public' },
      },
    },
  ],
};

function ingress(spec: V1IngressSpec): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'acme' },
    spec,
  };
}
const backend = (name: string) => ({ service: { name, port: { number: 80 } } });
const paths = (...names: string[]): V1IngressSpec => ({
  rules: [
    {
      host: 'x.example.com',
      http: { paths: names.map((n, i) => ({ path: `/${i}`, pathType: 'Prefix', backend: backend(n) })) },
    },
  ],
});

async function run(obj: KubeObject, withServices = true): Promise<Decision> {
  return decide(request('CREATE', obj), buildHandlers(memLookup(world, withServices)));
}

describe('Ingress', () => {
  it("denies a path to an internal app's Service, naming spec.rules[i].http.paths[j].backend.service.name", async () => {
    const d = await run(ingress(paths('www', 'api')));
    expect(d.allowed).toBe(false);
    expect(!d.allowed && d.message).toContain(
      'Ingress "acme/web" is invalid: spec.rules[0].http.paths[1].backend.service.name: Service "api" belongs to the internally routed App "api"',
    );
  });

  it('denies a default backend to an internal app', async () => {
    const d = await run(ingress({ defaultBackend: backend('api') }));
    expect(!d.allowed && d.message).toContain('spec.defaultBackend.service.name');
  });

  it('allows backends of external apps', async () => {
    expect(await run(ingress(paths('www')))).toEqual({ allowed: true });
  });

  it("denies a tenant's ClusterIP Service that selects the internal app's pods (with or without service())", async () => {
    const d = await run(ingress(paths('sneaky')));
    expect(!d.allowed && d.message).toContain('Service "sneaky" belongs to the internally routed App "api"');
    // Without the optional service(), the Service is found through servicesIn().
    expect((await run(ingress(paths('sneaky')), false)).allowed).toBe(false);
  });

  it("denies a tenant's ClusterIP Service on a second label a live internal pod carries (attack 8)", async () => {
    const d = await run(ingress(paths('www', 'second')));
    expect(!d.allowed && d.message).toBe(
      'Ingress "acme/web" is invalid: spec.rules[0].http.paths[1].backend.service.name: Service "second" belongs ' +
        'to the internally routed App "api", which accepts traffic only from its Space and peered networks ' +
        '(it selects the App\'s pod "api-7")',
    );
  });

  it('allows a Service on a label only external pods carry', async () => {
    expect(await run(ingress(paths('public')))).toEqual({ allowed: true });
  });
});
