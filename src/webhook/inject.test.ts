import type { V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../engine/errors.ts';
import type { KubeApi, KubeRequest } from '../engine/kubeclient.ts';
import { FIELD_MANAGER } from '../model/labels.ts';
import { buildWebhookConfiguration } from './config.ts';
import { applyWebhookConfiguration, encodeCABundle, injectCABundle, withCABundle } from './inject.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PATH = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/spaces-operator';

/** One ValidatingWebhookConfiguration behind `KubeApi.request`; `conflicts` replaces fail with 409. */
function fakeApi(initial: V1ValidatingWebhookConfiguration | undefined, conflicts = 0) {
  let live: V1ValidatingWebhookConfiguration | undefined = initial
    ? { ...initial, metadata: { ...initial.metadata, resourceVersion: '1' } }
    : undefined;
  const writes: V1ValidatingWebhookConfiguration[] = [];
  const requests: KubeRequest[] = [];
  let toFail = conflicts;
  const api: KubeApi = {
    async request<T>(req: KubeRequest): Promise<T> {
      requests.push(req);
      await Promise.resolve();
      if (req.path !== PATH) throw new ApiError(404, `${req.method} ${req.path}: 404`);
      if (req.method === 'GET') {
        if (!live) throw new ApiError(404, `GET ${req.path}: 404 not found`);
        return structuredClone(live) as T;
      }
      const body = req.body as V1ValidatingWebhookConfiguration;
      if (req.method === 'PUT') {
        if (toFail-- > 0) throw new ApiError(409, `PUT ${req.path}: 409 conflict`);
        writes.push(body);
        live = body;
        return structuredClone(body) as T;
      }
      if (req.method === 'PATCH') return structuredClone(body) as T;
      throw new Error(`unexpected request ${req.method} ${req.path}`);
    },
    resourcePath: () => Promise.reject(new Error('not used')),
  };
  return { api, writes, requests };
}

const vwc = buildWebhookConfiguration({ namespace: 'spaces-system', serviceName: 'spaces-operator-webhook' });

describe('withCABundle', () => {
  it('sets the bundle on every webhook, and returns undefined once they all carry it', () => {
    const next = withCABundle(vwc, PEM)!;
    expect(next.webhooks?.map((w) => w.clientConfig.caBundle)).toEqual(
      vwc.webhooks?.map(() => encodeCABundle(PEM)),
    );
    expect(withCABundle(next, PEM)).toBeUndefined();
  });
});

describe('injectCABundle', () => {
  it('writes only when the bundle differs', async () => {
    const { api, writes } = fakeApi(vwc);
    expect(await injectCABundle({ api, name: 'spaces-operator', caBundle: PEM })).toBe(true);
    expect(await injectCABundle({ api, name: 'spaces-operator', caBundle: PEM })).toBe(false);
    expect(writes).toHaveLength(1);
    expect(writes[0]?.metadata?.resourceVersion).toBe('1'); // optimistic concurrency
  });

  it('re-reads and retries on a conflict', async () => {
    const { api, writes } = fakeApi(vwc, 2);
    expect(await injectCABundle({ api, name: 'spaces-operator', caBundle: PEM })).toBe(true);
    expect(writes).toHaveLength(1);
  });

  it('does nothing when the configuration is not installed', async () => {
    const { api } = fakeApi(undefined);
    expect(await injectCABundle({ api, name: 'spaces-operator', caBundle: PEM })).toBe(false);
  });
});

describe('applyWebhookConfiguration', () => {
  it('server-side applies with the operator field manager, forcing ownership', async () => {
    const { api, requests } = fakeApi(undefined);
    await applyWebhookConfiguration(api, vwc);
    expect(requests).toEqual([
      {
        method: 'PATCH',
        path: PATH,
        query: { fieldManager: FIELD_MANAGER, force: true },
        body: vwc,
        contentType: 'application/apply-patch+yaml',
      },
    ]);
  });
});
