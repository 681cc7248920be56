import type { AdmissionregistrationV1Api, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { buildWebhookConfiguration } from './config.ts';
import { encodeCABundle, injectCABundle, withCABundle } from './inject.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function fakeApi(initial: V1ValidatingWebhookConfiguration | undefined, conflicts = 0) {
  let live: V1ValidatingWebhookConfiguration | undefined = initial
    ? { ...initial, metadata: { ...initial.metadata, resourceVersion: '1' } }
    : undefined;
  const writes: V1ValidatingWebhookConfiguration[] = [];
  let toFail = conflicts;
  const api = {
    async readValidatingWebhookConfiguration() {
      await Promise.resolve();
      if (!live) throw Object.assign(new Error('not found'), { code: 404 });
      return structuredClone(live);
    },
    async replaceValidatingWebhookConfiguration({ body }: { body: V1ValidatingWebhookConfiguration }) {
      await Promise.resolve();
      if (toFail-- > 0) throw Object.assign(new Error('conflict'), { code: 409 });
      writes.push(body);
      live = body;
      return body;
    },
  };
  return { api: api as unknown as AdmissionregistrationV1Api, writes };
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
