import { describe, expect, it } from 'vitest';
import { decide } from '../admission.ts';
import { memLookup, namespace, request, space } from '../../../test/support/webhook-fixtures.ts';
import type { Decision, KubeObject } from '../types.ts';
import { buildHandlers } from './index.ts';
import { DEFAULT_SETTINGS } from '../../model/settings.ts';

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

const PSA = {
  'pod-security.kubernetes.io/audit': 'baseline',
  'pod-security.kubernetes.io/enforce': 'baseline',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'baseline',
};
const withLabels = (name: string, labels: Record<string, string>, annotations?: Record<string, string>) => {
  const o = ns(name, labels);
  if (annotations) o.metadata = { ...o.metadata, annotations };
  return o;
};

describe('Namespace (Pod Security of Space namespaces)', () => {
  const acme = { 'privatespaces.dev/space': 'acme', ...PSA };

  it('denies weakening enforce on a Space namespace, naming the label and the level', async () => {
    const d = await run(
      'UPDATE',
      ns('acme', { ...acme, 'pod-security.kubernetes.io/enforce': 'privileged' }),
      ns('acme', acme),
    );
    expect(!d.allowed && d.message).toContain(
      'Namespace acme is a Space namespace and must enforce Pod Security baseline or stricter: pod-security.kubernetes.io/enforce=privileged (must be baseline or stricter); only the operator may change these labels',
    );
  });

  it.each([
    'pod-security.kubernetes.io/enforce',
    'pod-security.kubernetes.io/warn',
    'pod-security.kubernetes.io/audit',
  ])('denies removing %s from a Space namespace', async (key) => {
    const { [key]: _gone, ...rest } = acme as Record<string, string>;
    const d = await run('UPDATE', ns('acme', rest), ns('acme', acme));
    expect(!d.allowed && d.message).toContain(`${key} missing`);
  });

  it('denies pinning an old enforce-version', async () => {
    const d = await run(
      'UPDATE',
      ns('acme', { ...acme, 'pod-security.kubernetes.io/enforce-version': 'v1.0' }),
      ns('acme', acme),
    );
    expect(!d.allowed && d.message).toContain('enforce-version=v1.0 (must be latest)');
  });

  it('lets the operator change them, and anyone tighten them', async () => {
    const weaker = ns('acme', { ...acme, 'pod-security.kubernetes.io/enforce': 'privileged' });
    expect(await run('UPDATE', weaker, ns('acme', acme), OPERATOR)).toEqual({ allowed: true });
    const stricter = ns('acme', { ...acme, 'pod-security.kubernetes.io/enforce': 'restricted' });
    expect(await run('UPDATE', stricter, ns('acme', acme))).toEqual({ allowed: true });
  });

  it('denies creating a namespace annotated for adoption without the labels; allows it with them', async () => {
    const bare = withLabels('newspace', {}, { 'privatespaces.dev/adopt': 'newspace' });
    const d = await run('CREATE', bare);
    expect(!d.allowed && d.message).toContain('pod-security.kubernetes.io/enforce missing');
    const good = withLabels('newspace', PSA, { 'privatespaces.dev/adopt': 'newspace' });
    expect(await run('CREATE', good)).toEqual({ allowed: true });
  });

  it('allows annotating an existing namespace for adoption (the operator then labels it)', async () => {
    const old = ns('legacy', { team: 'a' });
    const annotated = withLabels('legacy', { team: 'a' }, { 'privatespaces.dev/adopt': 'legacy' });
    expect(await run('UPDATE', annotated, old)).toEqual({ allowed: true });
  });

  it('denies removing the labels and the Space label together (the old object counts)', async () => {
    const d = await run('UPDATE', ns('acme', {}), ns('acme', acme));
    expect(d.allowed).toBe(false);
  });

  it('leaves namespaces outside every Space alone', async () => {
    expect(await run('CREATE', ns('team-b', { 'pod-security.kubernetes.io/enforce': 'privileged' }))).toEqual(
      {
        allowed: true,
      },
    );
  });

  it('uses the platform level from the settings', async () => {
    const handlers = buildHandlers(memLookup({ spaces: [space('acme')] }), {
      operator: { username: OPERATOR },
      settings: { ...DEFAULT_SETTINGS, podSecurity: 'restricted' },
    });
    const d = await decide(
      request('UPDATE', ns('acme', { ...acme, x: 'y' }), ns('acme', { 'privatespaces.dev/space': 'acme' })),
      handlers,
    );
    expect(!d.allowed && d.message).toContain(
      'pod-security.kubernetes.io/enforce=baseline (must be restricted or stricter)',
    );
  });
});
