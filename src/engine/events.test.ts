import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { ApiError } from './errors.ts';
import { EventRecorder, microTime, truncateBytes } from './events.ts';
import type { KubeApi, KubeRequest } from './kubeclient.ts';

const app: KubernetesObject = {
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'App',
  metadata: { name: 'web', namespace: 'space-a', uid: 'u1', resourceVersion: '5' },
};

function setup(fail?: Error) {
  const requests: KubeRequest[] = [];
  const api: KubeApi = {
    request: <T>(req: KubeRequest) => {
      requests.push(req);
      return fail ? Promise.reject(fail) : Promise.resolve(undefined as T);
    },
    resourcePath: () => Promise.reject(new Error('unused')),
  };
  const clock = new FakeClock(Date.parse('2025-03-01T12:00:00.250Z'));
  const recorder = new EventRecorder({ api, clock, instance: 'pod-1', dedupeWindowMs: 60_000 });
  return { requests, clock, recorder };
}

describe('EventRecorder', () => {
  it('posts an events.k8s.io/v1 Event in the namespace of the object it regards', async () => {
    const { requests, recorder } = setup();
    await recorder.emit(app, {
      type: 'Warning',
      reason: 'InvalidSpec',
      action: 'Reconcile',
      note: 'spec.port: must be > 0',
    });
    expect(requests).toHaveLength(1);
    const req = requests[0]!;
    expect(req).toMatchObject({ method: 'POST', path: '/apis/events.k8s.io/v1/namespaces/space-a/events' });
    expect(req.body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'space-a' },
      eventTime: '2025-03-01T12:00:00.250000Z',
      reportingController: 'spaces-operator',
      reportingInstance: 'pod-1',
      action: 'Reconcile',
      reason: 'InvalidSpec',
      note: 'spec.port: must be > 0',
      type: 'Warning',
      regarding: {
        apiVersion: 'privatespaces.dev/v1alpha1',
        kind: 'App',
        name: 'web',
        namespace: 'space-a',
        uid: 'u1',
      },
    });
    expect((req.body as { metadata: { name: string } }).metadata.name).toMatch(/^web\.[0-9a-f]+$/);
  });

  it('files events about cluster-scoped objects in default', async () => {
    const { requests, recorder } = setup();
    await recorder.emit(
      { apiVersion: 'privatespaces.dev/v1alpha1', kind: 'Space', metadata: { name: 's' } },
      { reason: 'Ready', action: 'Reconcile' },
    );
    expect(requests[0]?.path).toBe('/apis/events.k8s.io/v1/namespaces/default/events');
  });

  it('skips an identical event within the window, and sends it again after', async () => {
    const { requests, recorder, clock } = setup();
    const ev = { reason: 'Failed', action: 'Apply', note: 'boom' };
    await recorder.emit(app, ev);
    await recorder.emit(app, ev);
    await recorder.emit(app, { ...ev, note: 'other' });
    expect(requests).toHaveLength(2);
    clock.advance(60_000);
    await recorder.emit(app, ev);
    expect(requests).toHaveLength(3);
  });

  it('gives simultaneous events distinct names', async () => {
    const { requests, recorder } = setup();
    await recorder.emit(app, { reason: 'A', action: 'x' });
    await recorder.emit(app, { reason: 'B', action: 'x' });
    const names = requests.map((r) => (r.body as { metadata: { name: string } }).metadata.name);
    expect(new Set(names).size).toBe(2);
  });

  it('never throws, and retries a failed event next time', async () => {
    const { requests, recorder } = setup(new ApiError(403, 'forbidden'));
    await expect(recorder.emit(app, { reason: 'A', action: 'x' })).resolves.toBeUndefined();
    await recorder.emit(app, { reason: 'A', action: 'x' });
    expect(requests).toHaveLength(2);
  });
});

describe('helpers', () => {
  it('microTime has six fractional digits', () => {
    expect(microTime(Date.parse('2025-01-02T03:04:05.006Z'))).toBe('2025-01-02T03:04:05.006000Z');
  });

  it('truncateBytes keeps whole characters under the limit', () => {
    expect(truncateBytes('short', 10)).toBe('short');
    const cut = truncateBytes('é'.repeat(1000), 1024);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1024);
    expect(cut.endsWith('...')).toBe(true);
  });
});
