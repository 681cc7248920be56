import { describe, expect, it } from 'vitest';
import { validateApp } from '../../model/index.ts';
import { decide } from '../admission.ts';
import { app, memLookup, request, space, type World } from '../../../test/support/webhook-fixtures.ts';
import type { Decision } from '../types.ts';
import { buildHandlers } from './index.ts';

const world: World = { spaces: [space('acme'), space('firry', { generation: 'fir', cidr: '10.1.0.0/16' })] };
const run = (w: World, ...args: Parameters<typeof request>): Promise<Decision> =>
  decide(request(...args), buildHandlers(memLookup(w)));

function denied(d: Decision): string {
  expect(d.allowed).toBe(false);
  return d.allowed ? '' : d.message;
}

describe('App: create', () => {
  it('allows an internal app in a cedar space', async () => {
    expect(await run(world, 'CREATE', app('acme', 'api', { internalRouting: true }))).toEqual({
      allowed: true,
    });
  });

  it('denies an app in a namespace that belongs to no Space, naming metadata.namespace', async () => {
    const a = app('default', 'api');
    const msg = denied(await run(world, 'CREATE', a));
    expect(msg).toContain('App "default/api" is invalid: metadata.namespace:');
    expect(msg).toContain('belongs to no Space');
  });

  it('denies Internal Routing in a fir space, naming spec.internalRouting', async () => {
    const msg = denied(await run(world, 'CREATE', app('firry', 'api', { internalRouting: true })));
    expect(msg).toMatch(/spec\.internalRouting: Internal Routing is not available in fir spaces/);
  });

  it('denies DNS discovery in a fir space, naming spec.dnsDiscovery; unset is allowed there', async () => {
    const msg = denied(await run(world, 'CREATE', app('firry', 'api', { dnsDiscovery: true })));
    expect(msg).toMatch(/spec\.dnsDiscovery: DNS service discovery is not available in fir spaces/);
    expect(await run(world, 'CREATE', app('firry', 'api'))).toEqual({ allowed: true });
  });

  it("denies a process whose selector can capture another App's pods, naming the process's field", async () => {
    const w: World = { ...world, apps: [app('acme', 'billing', { internalRouting: true })] };
    const thief = app('acme', 'thief', {
      processes: [
        { name: 'web' },
        { name: 'worker', selector: { matchLabels: { 'privatespaces.dev/app': 'billing' } } },
      ],
    });
    const msg = denied(await run(w, 'CREATE', thief));
    expect(msg).toContain(
      'spec.processes[1].selector.matchLabels: {privatespaces.dev/app=billing} (process worker)',
    );
  });

  it('denies ACM together with Internal Routing, naming spec.acm', async () => {
    const msg = denied(await run(world, 'CREATE', app('acme', 'api', { internalRouting: true, acm: true })));
    expect(msg).toContain('spec.acm: Automated Certificate Management cannot be used with Internal Routing');
  });

  it("uses the model's messages word for word (same as the reconciler)", async () => {
    const a = app('firry', 'api', { internalRouting: true, acm: true });
    const msg = denied(await run(world, 'CREATE', a));
    for (const e of validateApp(a, world.spaces![1])) expect(msg).toContain(`${e.field}: ${e.message}`);
  });
});

describe('App: update', () => {
  it.each([
    [false, true],
    [true, false],
  ])('denies turning internalRouting from %s to %s, naming spec.internalRouting', async (from, to) => {
    const old = app('acme', 'api', { internalRouting: from });
    const msg = denied(await run(world, 'UPDATE', app('acme', 'api', { internalRouting: to }), old));
    expect(msg).toContain('spec.internalRouting: spec.internalRouting is immutable');
  });

  it('allows editing the domains', async () => {
    const old = app('acme', 'api', { internalRouting: true, domains: ['a.api.acme.spaces.local'] });
    const next = app('acme', 'api', {
      internalRouting: true,
      domains: ['a.api.acme.spaces.local', 'b.api.acme.spaces.local'],
    });
    expect(await run(world, 'UPDATE', next, old)).toEqual({ allowed: true });
  });

  it('allows a metadata-only change (finalizer removal) even when the Space is gone', async () => {
    const old = { ...app('gone', 'api'), metadata: { name: 'api', namespace: 'gone', finalizers: ['x'] } };
    const next = app('gone', 'api');
    expect(await run(world, 'UPDATE', next, old)).toEqual({ allowed: true });
  });

  it('allows DELETE (no rule)', async () => {
    expect(await run(world, 'DELETE', app('default', 'api'))).toEqual({ allowed: true });
  });
});

describe('App: selectors judged on the live namespace (attacks 4, 6, 7)', () => {
  const APP = 'privatespaces.dev/app';
  const pod = (name: string, labels: Record<string, string>, spec: object = {}) => ({
    metadata: { name, namespace: 'acme', labels },
    spec: { containers: [{ name: 'c', image: 'i' }], ...spec },
    status: { phase: 'Running' },
  });
  const billing = app('acme', 'billing', { internalRouting: true });
  const live: World = {
    spaces: [space('acme')],
    apps: [billing, app('acme', 'www')],
    pods: [
      pod('billing-1', { [APP]: 'billing', tier: 'x' }),
      pod('host-1', { role: 'agent' }, { hostNetwork: true }),
      pod('open-1', { role: 'open' }),
    ],
    policies: [
      {
        metadata: { name: 'wide-open', namespace: 'acme' },
        spec: { podSelector: { matchLabels: { role: 'open' } }, ingress: [{}] },
      },
    ],
    services: [
      {
        metadata: { name: 'np', namespace: 'acme' },
        spec: { type: 'NodePort', selector: { role: 'exposed' } },
      },
    ],
  };
  const sel = (matchLabels: Record<string, string>) => ({ selector: { matchLabels } });

  it("refuses an external App whose selector picks an internal App's pods, naming spec.selector.matchLabels", async () => {
    const msg = denied(await run(live, 'CREATE', app('acme', 'evil', sel({ tier: 'x' }))));
    expect(msg).toContain(
      'App "acme/evil" is invalid: spec.selector.matchLabels: {tier=x} can select the same pods',
    );
    expect(msg).toContain(
      'App "billing"\'s {privatespaces.dev/app=billing} (pod "billing-1" matches both now)',
    );
    expect(msg).toContain(
      'the external App "evil" would get a LoadBalancer for pods of the internally routed App "billing"',
    );
  });

  it('refuses selectors that could overlap another App either way, with no pod yet', async () => {
    const sub = app('acme', 'sub', sel({ [APP]: 'www', tier: 'web' }));
    expect(denied(await run(live, 'CREATE', sub))).toContain('App "www"\'s {privatespaces.dev/app=www}');
    const wider = app('acme', 'wider', sel({ team: 'a' }));
    expect(denied(await run(live, 'CREATE', wider))).toContain('can select the same pods as App "billing"');
  });

  it('allows Apps whose selectors differ on a key (the default selector)', async () => {
    const calm: World = { ...live, policies: [] };
    expect(await run(calm, 'CREATE', app('acme', 'reports', { internalRouting: true }))).toEqual({
      allowed: true,
    });
  });

  // The same rule whichever comes first: a policy that could open an internal App's pods is refused
  // when the App exists (guardNetworkPolicy), and the App is refused when the policy exists.
  it('refuses an internal App under an open policy made before it, with no pod yet (attack 6)', async () => {
    const before: World = {
      spaces: [space('acme')],
      policies: [
        {
          metadata: { name: 'public', namespace: 'acme' },
          spec: { podSelector: { matchLabels: { [APP]: 'reports', tier: 'public' } }, ingress: [{}] },
        },
      ],
    };
    const msg = denied(await run(before, 'CREATE', app('acme', 'reports', { internalRouting: true })));
    expect(msg).toContain('NetworkPolicy acme/public would admit any source to internal app "reports"');
  });

  it('refuses moving a selector onto a running hostNetwork pod (attack 7)', async () => {
    const alone: World = { ...live, apps: [], policies: [] };
    const old = app('acme', 'agent', { internalRouting: true });
    const next = app('acme', 'agent', { internalRouting: true, ...sel({ role: 'agent' }) });
    expect(denied(await run(alone, 'UPDATE', next, old))).toBe(
      'App "acme/agent" is invalid: spec.selector.matchLabels: {role=agent} selects pod "host-1", which runs ' +
        "with spec.hostNetwork: true: it answers on its node's address, outside NetworkPolicy; select pods " +
        'without host access',
    );
    // A selector that picks no host pod passes.
    const fine = app('acme', 'agent', { internalRouting: true, ...sel({ role: 'other' }) });
    expect(await run(alone, 'UPDATE', fine, old)).toEqual({ allowed: true });
  });

  it('refuses an internal App whose pods an existing policy opens to any source (attack 6)', async () => {
    const only: World = { ...live, apps: [] };
    const msg = denied(
      await run(only, 'CREATE', app('acme', 'reports', { internalRouting: true, ...sel({ role: 'open' }) })),
    );
    expect(msg).toContain(
      "spec.selector.matchLabels: {role=open} would put the App's pods under a policy that opens them:",
    );
    expect(msg).toContain('NetworkPolicy acme/wide-open would admit');
    expect(msg).toContain('narrow or delete that NetworkPolicy first');
    // The same selector on an external App is the trusted ranges' business, not refused here.
    expect(await run(only, 'CREATE', app('acme', 'reports', sel({ role: 'open' })))).toEqual({
      allowed: true,
    });
  });

  it('refuses an internal App whose pods an exposing Service already selects', async () => {
    const only: World = { ...live, apps: [] };
    const msg = denied(
      await run(only, 'CREATE', app('acme', 'r', { internalRouting: true, ...sel({ role: 'exposed' }) })),
    );
    expect(msg).toContain(
      '{role=exposed} selects pods that a NodePort Service "np" (selector {role=exposed}) exposes',
    );
  });

  it("refuses an UPDATE that moves an internal selector onto another App's pods; other edits pass", async () => {
    const moved = { ...billing, spec: { ...billing.spec, ...sel({ [APP]: 'www' }) } };
    expect(denied(await run(live, 'UPDATE', moved, billing))).toContain('App "www"');
    // An App that already overlaps (predates this rule) can still change other fields.
    const old = app('acme', 'legacy', sel({ tier: 'x' }));
    const next = app('acme', 'legacy', { ...sel({ tier: 'x' }), domains: ['l.legacy.acme.spaces.local'] });
    expect(await run({ ...live, apps: [...live.apps!, old] }, 'UPDATE', next, old)).toEqual({
      allowed: true,
    });
  });
});
