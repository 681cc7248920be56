import { describe, expect, it } from 'vitest';
import { decide } from '../admission.ts';
import { memLookup, namespace, request, space } from '../fixtures.ts';
import type { Decision, KubeObject } from '../types.ts';
import { buildHandlers } from './index.ts';

const OPERATOR = 'system:serviceaccount:spaces-system:spaces-operator';
const run = (...args: Parameters<typeof request>): Promise<Decision> =>
  decide(
    request(...args),
    buildHandlers(memLookup({ spaces: [space('acme')] }), { operator: { username: OPERATOR } }),
  );
const ns = (name: string, labels: Record<string, string> = {}) => namespace(name, labels) as KubeObject;

describe('Namespace (reach guards)', () => {
  it("denies a namespace claiming another Space's label", async () => {
    const d = await run('CREATE', ns('impostor', { 'privatespaces.dev/space': 'acme' }));
    expect(!d.allowed && d.message).toContain(
      'Namespace impostor may not carry label privatespaces.dev/space=acme',
    );
  });

  it("denies removing a Space namespace's label, except for the operator", async () => {
    const old = ns('acme', { 'privatespaces.dev/space': 'acme' });
    expect((await run('UPDATE', ns('acme'), old)).allowed).toBe(false);
    expect(await run('UPDATE', ns('acme'), old, OPERATOR)).toEqual({ allowed: true });
  });

  it('allows ordinary namespaces and label changes that leave the Space label alone', async () => {
    expect(await run('CREATE', ns('team-a', { team: 'a' }))).toEqual({ allowed: true });
    const old = ns('acme', { 'privatespaces.dev/space': 'acme' });
    expect(await run('UPDATE', ns('acme', { 'privatespaces.dev/space': 'acme', x: 'y' }), old)).toEqual({
      allowed: true,
    });
  });
});
