import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { appNetworkPolicy, spaceDefaultDeny } from '../../model/index.ts';
import { decide } from '../admission.ts';
import { app, memLookup, peering, request, space, type World } from '../fixtures.ts';
import type { Decision, KubeObject } from '../types.ts';
import { buildHandlers } from './index.ts';

const OPERATOR = 'system:serviceaccount:spaces-system:spaces-operator';
const acme = space('acme');
const api = app('acme', 'api', { internalRouting: true });
const own = appNetworkPolicy(api, acme, []) as unknown as V1NetworkPolicy;
const deny = spaceDefaultDeny(acme) as unknown as V1NetworkPolicy;

function world(policies: V1NetworkPolicy[] = [own, deny]): World {
  return {
    spaces: [acme],
    apps: [api, app('acme', 'www')],
    peerings: [peering('acme', 'office', ['192.168.0.0/24'], 'active')],
    policies,
  };
}

function np(name: string, spec: object): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'acme' },
    spec,
  };
}

async function run(w: World, ...args: Parameters<typeof request>): Promise<Decision> {
  return decide(request(...args), buildHandlers(memLookup(w), { operator: { username: OPERATOR } }));
}

const openToAll = np('open', {
  podSelector: { matchLabels: { 'privatespaces.dev/app': 'api' } },
  ingress: [{}],
});

describe('NetworkPolicy (reach guards)', () => {
  it("denies a policy admitting every source to an internal app's pods", async () => {
    const d = await run(world(), 'CREATE', openToAll);
    expect(d.allowed).toBe(false);
    expect(!d.allowed && d.message).toContain(
      'NetworkPolicy acme/open would admit any source to internal app "api"',
    );
  });

  it('allows a policy admitting only the space and its active peerings', async () => {
    const ok = np('fine', {
      podSelector: { matchLabels: { 'privatespaces.dev/app': 'api' } },
      ingress: [{ from: [{ podSelector: {} }] }, { from: [{ ipBlock: { cidr: '192.168.0.0/25' } }] }],
    });
    expect(await run(world(), 'CREATE', ok)).toEqual({ allowed: true });
  });

  it("allows the operator's own requests", async () => {
    expect(await run(world(), 'CREATE', openToAll, undefined, OPERATOR)).toEqual({ allowed: true });
  });

  it('denies deleting the last policy that isolates an internal app', async () => {
    const d = await run(world([own]), 'DELETE', own as KubeObject);
    expect(!d.allowed && d.message).toContain('Deleting NetworkPolicy acme/app-api');
  });

  it('allows deleting a policy when another still isolates the app', async () => {
    expect(await run(world([own, deny]), 'DELETE', own as KubeObject)).toEqual({ allowed: true });
  });

  it('denies an update that widens a policy', async () => {
    const old = np('open', { podSelector: { matchLabels: { 'privatespaces.dev/app': 'api' } }, ingress: [] });
    expect((await run(world(), 'UPDATE', openToAll, old)).allowed).toBe(false);
  });
});
