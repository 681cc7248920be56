import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from './errors.ts';
import { ApiError, apiFailure, Kube, loadKubeConfig, objectPath, type ApiStatus } from './kube.ts';

const api = (s: Partial<ApiStatus> & { code: number }): ApiError =>
  new ApiError({ reason: '', message: 'm', ...s });

describe('apiFailure', () => {
  it('schema or CEL refusal (422): exit 3, one line per field', () => {
    const err = apiFailure(
      api({
        code: 422,
        message: 'App "x" is invalid: [...]',
        details: { name: 'x', causes: [{ field: 'spec.port', message: 'Invalid value: 0' }] },
      }),
      'creating App a/x',
    );
    expect(err.exitCode).toBe(EXIT.refused);
    expect(err.message).toBe('creating App a/x: refused by the API server:\n  spec.port: Invalid value: 0');
  });

  it('an admission webhook denial: exit 3', () => {
    const err = apiFailure(
      api({ code: 403, message: 'admission webhook "apps.privatespaces.dev" denied the request: no' }),
      'creating App a/x',
    );
    expect(err.exitCode).toBe(EXIT.refused);
    expect(err.message).toContain('denied the request: no');
  });

  it.each<[string, Partial<ApiStatus> & { code: number }, RegExp | undefined]>([
    ['RBAC', { code: 403, message: 'forbidden: User "x" cannot get' }, /kubectl auth can-i/],
    [
      'CRDs not installed',
      { code: 404, message: 'the server could not find the requested resource' },
      /kubectl get crd/,
    ],
    ['an object not found', { code: 404, message: 'not found', details: { name: 'x' } }, undefined],
    ['a conflict', { code: 409, message: 'already exists', details: { name: 'x' } }, /already exists/],
    ['bad credentials', { code: 401, message: 'Unauthorized' }, /credentials/],
  ])('%s: exit 1, with what to do', (_name, status, hint) => {
    const err = apiFailure(api(status), 'reading Space s');
    expect(err.exitCode).toBe(EXIT.error);
    expect(err.message).toBe(`reading Space s: ${status.message ?? ''}`);
    if (hint) expect(err.hint).toMatch(hint);
    else expect(err.hint).toBeUndefined();
  });

  it('a CliError passes through; anything else becomes exit 1', () => {
    const cli = new CliError('x', EXIT.usage);
    expect(apiFailure(cli, 'w')).toBe(cli);
    expect(apiFailure(new Error('boom'), 'w').message).toBe('w: boom');
  });
});

describe('objectPath', () => {
  it.each([
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, '/api/v1/namespaces/a'],
    [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'a' } },
      '/api/v1/namespaces/a/services/s',
    ],
    [
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'a' } },
      '/apis/networking.k8s.io/v1/namespaces/a/networkpolicies/p',
    ],
    [
      { apiVersion: 'privatespaces.dev/v1alpha1', kind: 'Space', metadata: { name: 's' } },
      '/apis/privatespaces.dev/v1alpha1/spaces/s',
    ],
  ])('%j', (obj, want) => expect(objectPath(obj)).toBe(want));

  it('refuses a kind it does not know', () => {
    expect(() => objectPath({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } })).toThrow(
      CliError,
    );
  });
});

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-kubeconfig-'));
  const file = path.join(dir, 'config');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: one, context: {cluster: c, user: u, namespace: team}}, {name: two, context: {cluster: c, user: u}}]',
      'current-context: one',
      '',
    ].join('\n'),
  );

  it("-n, else the context's namespace, else default", () => {
    expect(new Kube(loadKubeConfig({ kubeconfig: file })).namespace).toBe('team');
    expect(new Kube(loadKubeConfig({ kubeconfig: file, context: 'two' })).namespace).toBe('default');
    const given = Kube.load({ kubeconfig: file, namespace: 'x' });
    expect([given.namespace, given.namespaceGiven]).toEqual(['x', true]);
  });

  it('an unknown --context is a usage error that lists the known ones', () => {
    try {
      loadKubeConfig({ kubeconfig: file, context: 'three' });
      expect.unreachable();
    } catch (err) {
      expect((err as CliError).exitCode).toBe(EXIT.usage);
      expect((err as CliError).hint).toContain('known contexts: one, two');
    }
  });
});
