import { describe, expect, it } from 'vitest';
import { decide } from '../admission.ts';
import { app, memLookup, request, space, type World } from '../../../test/support/webhook-fixtures.ts';
import type { Decision, KubeObject } from '../types.ts';
import { buildHandlers } from './index.ts';

const world: World = {
  spaces: [space('acme')],
  apps: [app('acme', 'api', { internalRouting: true }), app('acme', 'www')],
  services: [{ metadata: { name: 'tenant', namespace: 'acme' }, spec: { selector: { tier: 'x' } } }],
  pods: [
    { metadata: { name: 'api-1', namespace: 'acme', labels: { 'privatespaces.dev/app': 'api', tier: 'x' } } },
  ],
};
const run = (obj: KubeObject): Promise<Decision> =>
  decide(request('CREATE', obj), buildHandlers(memLookup(world)));

function route(kind: string, rules: unknown[], ns = 'acme', version = 'v1'): KubeObject {
  return {
    apiVersion: `gateway.networking.k8s.io/${version}`,
    kind,
    metadata: { name: 'r', namespace: ns },
    spec: { rules },
  };
}

describe('Gateway API routes', () => {
  it.each([
    ['HTTPRoute', 'v1'],
    ['GRPCRoute', 'v1'],
    ['TCPRoute', 'v1alpha2'],
    ['TLSRoute', 'v1alpha2'],
  ])("denies a %s with a backendRef to an internal app's Service", async (kind, version) => {
    const d = await run(
      route(
        kind,
        [
          {
            backendRefs: [
              { name: 'www', port: 80 },
              { name: 'api', port: 80 },
            ],
          },
        ],
        'acme',
        version,
      ),
    );
    expect(d.allowed).toBe(false);
    expect(!d.allowed && d.message).toContain(
      `${kind} "acme/r" is invalid: spec.rules[0].backendRefs[1].name:`,
    );
  });

  it('denies a cross-namespace backendRef, naming the namespace', async () => {
    const d = await run(
      route('HTTPRoute', [{ backendRefs: [{ name: 'api', namespace: 'acme', port: 80 }] }], 'edge'),
    );
    expect(!d.allowed && d.message).toContain(
      'Service "acme/api" belongs to the internally routed App "api"',
    );
  });

  it('denies a requestMirror to an internal app', async () => {
    const rules = [
      { filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'api', port: 80 } } }] },
    ];
    const d = await run(route('HTTPRoute', rules));
    expect(!d.allowed && d.message).toContain('spec.rules[0].filters[0].requestMirror.backendRef.name');
  });

  it('allows backends of external apps and references to other kinds', async () => {
    expect(await run(route('HTTPRoute', [{ backendRefs: [{ name: 'www', port: 80 }] }]))).toEqual({
      allowed: true,
    });
    const other = [{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'api' }] }];
    expect(await run(route('HTTPRoute', other))).toEqual({ allowed: true });
  });

  it("denies a cross-namespace backendRef to a tenant's Service that selects a live internal pod (attack 8)", async () => {
    const d = await run(
      route('HTTPRoute', [{ backendRefs: [{ name: 'tenant', namespace: 'acme', port: 80 }] }], 'edge'),
    );
    expect(!d.allowed && d.message).toContain(
      'spec.rules[0].backendRefs[0].name: Service "acme/tenant" belongs to the internally routed App "api"',
    );
    expect(!d.allowed && d.message).toContain('(it selects the App\'s pod "api-1")');
  });
});
