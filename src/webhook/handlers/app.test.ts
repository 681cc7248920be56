import { describe, expect, it } from 'vitest';
import { validateApp } from '../../model/index.ts';
import { decide } from '../admission.ts';
import { app, memLookup, request, space, type World } from '../fixtures.ts';
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
    const old = app('acme', 'api', { internalRouting: true, domains: ['a.example.com'] });
    const next = app('acme', 'api', { internalRouting: true, domains: ['a.example.com', 'b.example.com'] });
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
