import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from './errors.ts';
import { ApiError, apiFailure, Kube, loadKubeConfig } from './kube.ts';
import type { ApiStatus } from '../engine/errors.ts';

const api = (s: Partial<ApiStatus> & { code: number }): ApiError =>
  new ApiError(s.code, 'GET /x: m', s.reason ?? '', { kind: 'Status', message: 'm', ...s });

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

  it("-n, else the context's namespace, else default", async () => {
    expect(new Kube(await loadKubeConfig({ kubeconfig: file })).namespace).toBe('team');
    expect(new Kube(await loadKubeConfig({ kubeconfig: file, context: 'two' })).namespace).toBe('default');
    const given = await Kube.load({ kubeconfig: file, namespace: 'x' });
    expect([given.namespace, given.namespaceGiven]).toEqual(['x', true]);
  });

  it('an unknown --context is a usage error that lists the known ones', async () => {
    try {
      await loadKubeConfig({ kubeconfig: file, context: 'three' });
      expect.unreachable();
    } catch (err) {
      expect((err as CliError).exitCode).toBe(EXIT.usage);
      expect((err as CliError).hint).toContain('known contexts: one, two');
    }
  });
});

describe('Kube on the engine client', () => {
  it('follows continue, maps a missing object to undefined and an unreachable server to exit 1', async () => {
    const { createServer } = await import('node:http');
    const urls: string[] = [];
    const server = createServer((req, res) => {
      urls.push(req.url ?? '');
      if (req.url?.includes('/configmaps/gone')) {
        res.writeHead(404).end(JSON.stringify({ kind: 'Status', code: 404, details: { name: 'gone' } }));
      } else if (req.url?.includes('continue=next')) res.end('{"items":[{"n":2}],"metadata":{}}');
      else res.end('{"items":[{"n":1}],"metadata":{"continue":"next"}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const conn = (p: number) => ({
      server: `http://127.0.0.1:${p}`,
      source: 'test',
      options: () => Promise.resolve({ rejectUnauthorized: true, headers: {} }),
    });
    const kube = new Kube(conn(port));
    try {
      expect(await kube.list('/api/v1/namespaces')).toEqual([{ n: 1 }, { n: 2 }]);
      expect(urls).toEqual(['/api/v1/namespaces?limit=500', '/api/v1/namespaces?limit=500&continue=next']);
      expect(await kube.getConfigMap('a', 'gone')).toBeUndefined();
    } finally {
      kube.client.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    const err = await new Kube(conn(port)).listNamespaces().catch((e: unknown) => e);
    expect((err as CliError).exitCode).toBe(EXIT.error);
    expect((err as CliError).message).toMatch(
      /cannot reach the API server at http:\/\/127.0.0.1:\d+: ECONNREFUSED/,
    );
  });
});
