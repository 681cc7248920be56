import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { appService } from '../../model/index.ts';
import { decide } from '../admission.ts';
import { app, memLookup, request, space, type World } from '../../../test/support/webhook-fixtures.ts';
import type { Decision, KubeObject } from '../types.ts';
import { buildHandlers } from './index.ts';
import { selectsAppPods } from './context.ts';
import { checkService, parseServiceDns, type ServiceObject } from './service.ts';

const acme = space('acme');
const world: World = {
  spaces: [acme],
  apps: [
    app('acme', 'api', { internalRouting: true, domains: ['api.internal.example.com'] }),
    app('acme', 'billing', {
      internalRouting: true,
      selector: { matchLabels: { team: 'billing', tier: 'web' } },
    }),
    app('acme', 'www'),
  ],
};
const run = (...args: Parameters<typeof request>): Promise<Decision> =>
  decide(request(...args), buildHandlers(memLookup(world)));

function svc(name: string, spec: V1Service['spec'], ns = 'acme'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec };
}

function denied(d: Decision): string {
  expect(d.allowed).toBe(false);
  return d.allowed ? '' : d.message;
}

describe('selectsAppPods', () => {
  it.each([
    [{ 'privatespaces.dev/app': 'api' }, { 'privatespaces.dev/app': 'api' }, true],
    [{ team: 'billing' }, { team: 'billing', tier: 'web' }, true], // every selector label is on the pods
    [{ team: 'billing', tier: 'web', extra: 'x' }, { team: 'billing', tier: 'web' }, true], // pins the app
    [{ team: 'billing', tier: 'api' }, { team: 'billing', tier: 'web' }, false], // conflicts
    [{ tier: 'frontend' }, { 'privatespaces.dev/app': 'api' }, false], // unrelated
    [{}, { 'privatespaces.dev/app': 'api' }, false], // selector-less Service
  ])('%j selects pods labelled %j: %s', (selector, labels, expected) => {
    expect(selectsAppPods(selector, labels)).toBe(expected);
  });
});

describe('Service', () => {
  it.each(['NodePort', 'LoadBalancer'])(
    'denies a %s Service selecting an internal app, naming spec.type',
    async (type) => {
      const msg = denied(
        await run('CREATE', svc('leak', { type, selector: { 'privatespaces.dev/app': 'api' } })),
      );
      expect(msg).toContain('Service "acme/leak" is invalid: spec.type:');
      expect(msg).toContain(`a ${type} Service must not select the pods of the internally routed App "api"`);
    },
  );

  it('denies externalIPs on a ClusterIP Service selecting an internal app, naming spec.externalIPs', async () => {
    const s = svc('leak', {
      type: 'ClusterIP',
      externalIPs: ['198.51.100.1'],
      selector: { team: 'billing' },
    });
    expect(denied(await run('CREATE', s))).toContain('spec.externalIPs: a Service with externalIPs');
  });

  it('denies a selector that pins the app labels and adds others', async () => {
    const s = svc('leak', { type: 'NodePort', selector: { 'privatespaces.dev/app': 'api', version: 'v2' } });
    expect(denied(await run('CREATE', s))).toContain('"api"');
  });

  it('allows exposing an external app, and a ClusterIP Service on an internal one', async () => {
    const ext = svc('www-np', { type: 'NodePort', selector: { 'privatespaces.dev/app': 'www' } });
    expect(await run('CREATE', ext)).toEqual({ allowed: true });
    const internal = svc('api-2', { type: 'ClusterIP', selector: { 'privatespaces.dev/app': 'api' } });
    expect(await run('CREATE', internal)).toEqual({ allowed: true });
  });

  it("allows the operator's own LoadBalancer Service for an external app", async () => {
    const own = appService(world.apps![2]!, acme) as unknown as KubeObject;
    expect((own['spec'] as V1Service['spec'])?.type).toBe('LoadBalancer');
    // The Service handler's own verdict (the ownership lock in front of it refuses the managed-by label
    // to anyone but the operator, whose requests matchConditions skip anyway).
    expect(await checkService(memLookup(world), own as ServiceObject)).toBeUndefined();
  });

  it('allows a selector-less NodePort Service and any Service outside a Space', async () => {
    expect(await run('CREATE', svc('manual', { type: 'NodePort' }))).toEqual({ allowed: true });
    const other = svc('x', { type: 'NodePort', selector: { 'privatespaces.dev/app': 'api' } }, 'default');
    expect(await run('CREATE', other)).toEqual({ allowed: true });
  });

  it.each(['api.acme.svc.cluster.local', 'api.acme.svc', 'api.acme', 'API.acme.svc.cluster.local.'])(
    'denies an ExternalName Service pointing at %s, naming spec.externalName',
    async (target) => {
      const msg = denied(
        await run('CREATE', svc('alias', { type: 'ExternalName', externalName: target }, 'default')),
      );
      expect(msg).toContain('Service "default/alias" is invalid: spec.externalName:');
    },
  );

  it("denies an ExternalName Service pointing at an internal app's domain", async () => {
    const s = svc('alias', { type: 'ExternalName', externalName: 'api.internal.example.com' }, 'default');
    expect(denied(await run('CREATE', s))).toContain('internally routed App "api"');
    const def = svc('alias', { type: 'ExternalName', externalName: 'api.acme.spaces.local' }, 'default');
    expect(denied(await run('CREATE', def))).toContain('internally routed App "api"');
  });

  it('allows an ExternalName Service pointing at an external app or elsewhere', async () => {
    const s = svc('alias', { type: 'ExternalName', externalName: 'www.acme.svc.cluster.local' }, 'default');
    expect(await run('CREATE', s)).toEqual({ allowed: true });
    expect(await run('CREATE', svc('e', { type: 'ExternalName', externalName: 'example.com' }))).toEqual({
      allowed: true,
    });
  });

  it('denies an update that turns a ClusterIP Service on an internal app into a NodePort', async () => {
    const old = svc('api', { type: 'ClusterIP', selector: { 'privatespaces.dev/app': 'api' } });
    const next = svc('api', { type: 'NodePort', selector: { 'privatespaces.dev/app': 'api' } });
    expect(denied(await run('UPDATE', next, old))).toContain('spec.type');
  });

  it('lets an already-violating Service be edited without making it worse, with a warning', async () => {
    const old = svc('leak', { type: 'NodePort', selector: { 'privatespaces.dev/app': 'api' } });
    const next = { ...old, metadata: { ...old.metadata, labels: { x: 'y' } } };
    const d = await run('UPDATE', next, old);
    expect(d.allowed).toBe(true);
    expect(d.allowed && d.warnings?.[0]).toContain('already like this');
  });
});

describe('Service: judged on live pods (attack 8)', () => {
  const pod = (name: string, labels: Record<string, string>, phase = 'Running') => ({
    metadata: { name, namespace: 'acme', labels },
    spec: { containers: [{ name: 'c', image: 'i' }] },
    status: { phase },
  });
  const live: World = {
    ...world,
    pods: [
      pod('api-1', { 'privatespaces.dev/app': 'api', tier: 'x' }),
      pod('www-1', { 'privatespaces.dev/app': 'www', tier: 'public' }),
      pod('api-old', { 'privatespaces.dev/app': 'api', tier: 'gone' }, 'Succeeded'),
    ],
    services: [
      { metadata: { name: 'mine', namespace: 'acme' }, spec: { type: 'ClusterIP', selector: { tier: 'x' } } },
    ],
  };
  const runLive = (...args: Parameters<typeof request>): Promise<Decision> =>
    decide(request(...args), buildHandlers(memLookup(live)));

  it.each([
    ['NodePort', { type: 'NodePort' }, 'spec.type: a NodePort Service'],
    ['LoadBalancer', { type: 'LoadBalancer' }, 'spec.type: a LoadBalancer Service'],
    [
      'externalIPs',
      { type: 'ClusterIP', externalIPs: ['198.51.100.7'] },
      'spec.externalIPs: a Service with externalIPs',
    ],
  ])(
    "denies a %s on a second label the internal app's pods carry, naming the pod",
    async (_, spec, words) => {
      const msg = denied(await runLive('CREATE', svc('leak', { ...spec, selector: { tier: 'x' } })));
      expect(msg).toBe(
        `Service "acme/leak" is invalid: ${words} must not select the pods of the internally routed App "api" ` +
          '(it selects its pod "api-1"), which accepts traffic only from its Space and peered networks; ' +
          'use type ClusterIP without externalIPs',
      );
    },
  );

  it('allows the same NodePort on a label only external pods (or finished ones) carry', async () => {
    expect(await runLive('CREATE', svc('ok', { type: 'NodePort', selector: { tier: 'public' } }))).toEqual({
      allowed: true,
    });
    expect(await runLive('CREATE', svc('ok', { type: 'NodePort', selector: { tier: 'gone' } }))).toEqual({
      allowed: true,
    });
  });

  it('denies an UPDATE that moves a NodePort onto the internal pods', async () => {
    const old = svc('np', { type: 'NodePort', selector: { tier: 'public' } });
    const next = svc('np', { type: 'NodePort', selector: { tier: 'x' } });
    expect(denied(await runLive('UPDATE', next, old))).toContain('(it selects its pod "api-1")');
  });

  it("denies an ExternalName to a tenant's ClusterIP Service that selects the internal pods", async () => {
    const alias = svc(
      'alias',
      { type: 'ExternalName', externalName: 'mine.acme.svc.cluster.local' },
      'default',
    );
    expect(denied(await runLive('CREATE', alias))).toContain(
      'spec.externalName: "mine.acme.svc.cluster.local" names the internally routed App "api"',
    );
  });
});

describe('parseServiceDns', () => {
  it.each([
    ['a.b', { name: 'a', namespace: 'b' }],
    ['a.b.svc', { name: 'a', namespace: 'b' }],
    ['a.b.svc.corp.local', { name: 'a', namespace: 'b' }],
    ['a.b.c', undefined],
    ['example', undefined],
  ])('%s', (host, expected) => expect(parseServiceDns(host)).toEqual(expected));
});
