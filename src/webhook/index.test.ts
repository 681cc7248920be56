import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { KubeApi } from '../engine/kubeclient.ts';
import { renew } from './certs.ts';
import { memLookup } from '../../test/support/webhook-fixtures.ts';
import { startWebhook } from './index.ts';

function fingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/healthz', ca, agent: false }, (res) => {
      const fp = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => resolve(fp));
    });
    req.on('error', reject);
  });
}

/** An API server that is never there: cert-manager mode from a folder never calls the API. */
const offlineApi: KubeApi = {
  request: (req) => Promise.reject(new Error(`unexpected API request ${req.method} ${req.path}`)),
  resourcePath: () => Promise.reject(new Error('unexpected discovery')),
};

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('startWebhook in cert-manager mode (mounted Secret)', () => {
  it('serves the mounted certificate and picks up a renewal without a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'wh-cm-'));
    dirs.push(dir);
    const names = ['127.0.0.1'];
    const first = await renew(undefined, 'missing', { names });
    await writeFile(path.join(dir, 'tls.crt'), first.cert);
    await writeFile(path.join(dir, 'tls.key'), first.key);
    const wh = startWebhook({
      api: offlineApi,
      port: 0,
      host: '127.0.0.1',
      namespace: 'ops',
      serviceName: 'wh',
      lookup: memLookup({}),
      certManager: { dir },
      registry: new Registry(),
    });
    await wh.ready;
    const port = wh.port()!;
    const before = await fingerprint(port, first.caBundle);

    const second = await renew(first, 'cert-expiring', { names });
    await writeFile(path.join(dir, 'tls.crt'), second.cert);
    await writeFile(path.join(dir, 'tls.key'), second.key);
    await wh.refresh();
    const after = await fingerprint(port, second.caBundle);
    expect(after).not.toBe(before);
    await wh.stop();
  });
});
