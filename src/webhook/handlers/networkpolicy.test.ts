import type { V1NetworkPolicy } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { appNetworkPolicy, spaceDefaultDeny } from '../../model/index.ts';
import { decide } from '../admission.ts';
import {
  app,
  memLookup,
  peering,
  request,
  space,
  type World,
} from '../../../test/support/webhook-fixtures.ts';
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

  it("refuses a tenant's deletion of the operator's policies (the lock runs first)", async () => {
    const d = await run(world([own]), 'DELETE', own as KubeObject);
    expect(!d.allowed && d.message).toContain('NetworkPolicy "acme/app-api" is managed by spaces-operator');
    expect((await run(world(), 'DELETE', deny as KubeObject)).allowed).toBe(false);
  });

  // Removal while the undeletable default-deny selects every pod: every pod stays isolated, so
  // removing a tenant's own policy (or re-selecting it) only takes allow rules away.
  const mine = np('mine', {
    podSelector: { matchLabels: { 'privatespaces.dev/app': 'api' } },
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: {} }] }],
  });
  it("allows deleting a tenant's own policy while the default-deny is live, even the app's only other one", async () => {
    expect(await run(world([mine as V1NetworkPolicy, deny]), 'DELETE', mine)).toEqual({ allowed: true });
    const narrowed = np('mine', { podSelector: { matchLabels: { other: 'x' } }, ingress: [] });
    expect(await run(world([mine as V1NetworkPolicy, deny]), 'UPDATE', narrowed, mine)).toEqual({
      allowed: true,
    });
  });

  it('falls back to the last-isolating-policy guard when the default-deny is not live', async () => {
    const d = await run(world([mine as V1NetworkPolicy]), 'DELETE', mine);
    expect(!d.allowed && d.message).toContain('Deleting NetworkPolicy acme/mine');
    // A policy named like the default-deny but not the operator's does not count.
    const fake = { ...np('space-default-deny', { podSelector: {}, policyTypes: ['Ingress'] }) };
    expect(
      (await run(world([mine as V1NetworkPolicy, fake as V1NetworkPolicy]), 'DELETE', mine)).allowed,
    ).toBe(true);
    const spoofedDeny = {
      ...deny,
      spec: { podSelector: { matchLabels: { a: 'b' } }, policyTypes: ['Ingress'] },
    };
    expect((await run(world([mine as V1NetworkPolicy, spoofedDeny]), 'DELETE', mine)).allowed).toBe(false);
  });

  it('denies an update that widens a policy', async () => {
    const old = np('open', { podSelector: { matchLabels: { 'privatespaces.dev/app': 'api' } }, ingress: [] });
    expect((await run(world(), 'UPDATE', openToAll, old)).allowed).toBe(false);
  });
});

describe('NetworkPolicy: canonical CIDRs only (attack 12)', () => {
  const withBlocks = (ns: string, ingressCidr: string, except: string[] = [], egressCidr = '10.0.0.0/8') => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'blocks', namespace: ns },
    spec: {
      podSelector: {},
      ingress: [{ from: [{ podSelector: {} }, { ipBlock: { cidr: ingressCidr, except } }] }],
      egress: [{ to: [{ ipBlock: { cidr: egressCidr } }] }],
    },
  });

  it.each([
    ['acme', 'a Space namespace'],
    ['elsewhere', 'a namespace of no Space'],
  ])('refuses 010.0.0.0/8 and 0.0.0.0/00 in %s (%s), naming each field', async (ns) => {
    const d = await run(
      world(),
      'CREATE',
      withBlocks(ns, '010.0.0.0/8', ['10.1.0.0/16', '10.2.0.1/16'], '0.0.0.0/00'),
    );
    expect(!d.allowed && d.message).toContain(
      `NetworkPolicy "${ns}/blocks" is invalid: spec.ingress[0].from[1].ipBlock.cidr: "010.0.0.0/8" is not canonical; write 10.0.0.0/8; ` +
        'spec.ingress[0].from[1].ipBlock.except[1]: "10.2.0.1/16" is not canonical; write 10.2.0.0/16; ' +
        'spec.egress[0].to[0].ipBlock.cidr: "0.0.0.0/00" is not canonical; write 0.0.0.0/0',
    );
  });

  it('refuses IPv4-mapped IPv6 and non-RFC 5952 IPv6 forms', async () => {
    const mapped = await run(world(), 'CREATE', withBlocks('elsewhere', '::ffff:10.0.0.0/104'));
    expect(!mapped.allowed && mapped.message).toContain('write 10.0.0.0/8');
    const upper = await run(world(), 'CREATE', withBlocks('elsewhere', '2001:DB8::/32'));
    expect(!upper.allowed && upper.message).toContain('write 2001:db8::/32');
  });

  it('refuses an UPDATE to a non-canonical CIDR, even by the operator', async () => {
    const good = withBlocks('elsewhere', '10.0.0.0/8');
    const bad = withBlocks('elsewhere', '10.0.0.0/08');
    expect((await run(world(), 'UPDATE', bad, good)).allowed).toBe(false);
    expect((await run(world(), 'CREATE', bad, undefined, OPERATOR)).allowed).toBe(false);
  });

  it('allows canonical CIDRs outside Spaces', async () => {
    const ok = withBlocks('elsewhere', '0.0.0.0/0', ['10.0.0.0/8'], '2001:db8::/32');
    expect(await run(world(), 'CREATE', ok)).toEqual({ allowed: true });
  });
});
