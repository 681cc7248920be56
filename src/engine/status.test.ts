import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import type { KubeApi, KubeRequest } from './kubeclient.ts';
import {
  StatusWriter,
  getCondition,
  isConditionTrue,
  mergePatch,
  readyConditions,
  setCondition,
  statusEquivalent,
  timestamp,
  type Condition,
} from './status.ts';

const t0 = Date.parse('2025-01-01T00:00:00.123Z');
const t1 = Date.parse('2025-01-01T01:00:00Z');

describe('timestamp', () => {
  it('is RFC 3339 to the second, the same text within a second and the next one after', () => {
    const t = Date.UTC(2026, 11, 5, 10, 59, 58, 999);
    expect(timestamp(t)).toBe('2026-12-05T10:59:58Z');
    expect(timestamp(new Date(t - 999))).toBe('2026-12-05T10:59:58Z');
    expect(timestamp(t + 1)).toBe('2026-12-05T10:59:59Z');
    expect(timestamp(t)).toBe('2026-12-05T10:59:58Z');
    expect(timestamp(-1)).toBe('1969-12-31T23:59:59Z');
    expect(() => timestamp(NaN)).toThrow(RangeError);
  });
});

describe('setCondition', () => {
  it('adds a condition with observedGeneration and a seconds-precision transition time', () => {
    const list = setCondition([], { type: 'Ready', status: 'True', reason: 'Done' }, 3, t0);
    expect(list).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Done',
        message: '',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status does not change, even if reason and message do', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t1);
    expect(b[0]).toMatchObject({
      reason: 'B',
      message: 'b',
      observedGeneration: 2,
      lastTransitionTime: '2025-01-01T00:00:00Z',
    });
  });

  it('moves lastTransitionTime when the status changes', () => {
    const a = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'A' }, 1, t0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'A' }, 1, t1);
    expect(b[0]?.lastTransitionTime).toBe('2025-01-01T01:00:00Z');
  });

  it('replaces in place, keeps other conditions and does not mutate its input', () => {
    const a = setCondition(
      setCondition([], { type: 'A', status: 'True', reason: 'r' }, 1, t0),
      { type: 'B', status: 'True', reason: 'r' },
      1,
      t0,
    );
    const frozen = structuredClone(a);
    const b = setCondition(a, { type: 'A', status: 'False', reason: 'x' }, 1, t1);
    expect(b.map((c) => `${c.type}=${c.status}`)).toEqual(['A=False', 'B=True']);
    expect(a).toEqual(frozen);
  });
});

describe('readyConditions', () => {
  const trio = (list: Condition[]) =>
    ['Ready', 'Reconciling', 'Stalled'].map((t) => getCondition(list, t)?.status);

  it('Ready: Ready=True, Reconciling=False, Stalled=False', () => {
    const list = readyConditions([], { state: 'Ready' }, 4, t0);
    expect(trio(list)).toEqual(['True', 'False', 'False']);
    expect(list.every((c) => c.observedGeneration === 4)).toBe(true);
    expect(isConditionTrue(list, 'Ready')).toBe(true);
  });

  it('Reconciling: Reconciling=True with the reason, Ready=Unknown, Stalled=False', () => {
    const list = readyConditions(
      [],
      { state: 'Reconciling', reason: 'Progressing', message: 'creating children' },
      1,
      t0,
    );
    expect(trio(list)).toEqual(['Unknown', 'True', 'False']);
    expect(getCondition(list, 'Reconciling')).toMatchObject({
      reason: 'Progressing',
      message: 'creating children',
    });
  });

  it('Stalled: Stalled=True and Ready=False with reason and message, Reconciling=False', () => {
    const list = readyConditions(
      [],
      { state: 'Stalled', reason: 'InvalidSpec', message: 'spec.cidr: not a /16' },
      1,
      t0,
    );
    expect(trio(list)).toEqual(['False', 'False', 'True']);
    expect(getCondition(list, 'Stalled')).toMatchObject({
      reason: 'InvalidSpec',
      message: 'spec.cidr: not a /16',
    });
    expect(getCondition(list, 'Ready')).toMatchObject({
      reason: 'InvalidSpec',
      message: 'spec.cidr: not a /16',
    });
  });

  it('keeps other conditions', () => {
    const list = readyConditions(
      [{ type: 'Exposed', status: 'False', reason: 'r', message: '', lastTransitionTime: 'x' }],
      { state: 'Ready' },
      1,
      t0,
    );
    expect(list.map((c) => c.type)).toEqual(['Exposed', 'Ready', 'Reconciling', 'Stalled']);
  });
});

describe('statusEquivalent and mergePatch', () => {
  const cond = (time: string) => ({
    type: 'Ready',
    status: 'True',
    reason: 'r',
    message: '',
    lastTransitionTime: time,
  });

  it('ignores lastTransitionTime but nothing else', () => {
    expect(statusEquivalent({ conditions: [cond('a')], x: 1 }, { conditions: [cond('b')], x: 1 })).toBe(true);
    expect(statusEquivalent({ conditions: [cond('a')], x: 1 }, { conditions: [cond('a')], x: 2 })).toBe(
      false,
    );
    expect(statusEquivalent(undefined, {})).toBe(true);
  });

  it('ignores it in conditions at any depth, and still sees every other difference there', () => {
    const nested = (time: string, message = '') => ({ tls: { conditions: [{ ...cond(time), message }] } });
    expect(statusEquivalent(nested('a'), nested('b'))).toBe(true);
    expect(statusEquivalent(nested('a'), nested('a', 'changed'))).toBe(false);
    expect(statusEquivalent({ conditions: [cond('a')] }, { conditions: [cond('a'), cond('a')] })).toBe(false);
    expect(
      statusEquivalent({ conditions: [cond('a')] }, { conditions: [{ ...cond('a'), status: 'False' }] }),
    ).toBe(false);
  });

  it('patches changed keys, nulls removed keys and recurses into objects', () => {
    expect(
      mergePatch(
        { a: 1, b: { c: 1, d: 2 }, gone: 'x', list: [1] },
        { a: 1, b: { c: 1, d: 3 }, list: [1, 2] },
      ),
    ).toEqual({
      b: { d: 3 },
      gone: null,
      list: [1, 2],
    });
  });
});

describe('StatusWriter', () => {
  const obj = {
    apiVersion: 'privatespaces.dev/v1alpha1',
    kind: 'Space',
    metadata: { name: 's' },
    status: { observedGeneration: 1, conditions: [cond()] },
  };
  function cond() {
    return { type: 'Ready', status: 'True', reason: 'r', message: '', lastTransitionTime: 't' };
  }
  function fake(fail?: Error) {
    const requests: KubeRequest[] = [];
    const api: KubeApi = {
      request: <T>(req: KubeRequest) => {
        requests.push(req);
        return fail ? Promise.reject(fail) : Promise.resolve(undefined as T);
      },
      resourcePath: (ref) => Promise.resolve(`/apis/privatespaces.dev/v1alpha1/spaces/${ref.name}`),
    };
    return { api, requests };
  }

  it('skips the write when the status is unchanged', async () => {
    const { api, requests } = fake();
    const r = await new StatusWriter({ api }).patchStatus(obj, {
      observedGeneration: 1,
      conditions: [{ ...cond(), lastTransitionTime: 'later' }],
    });
    expect(r.changed).toBe(false);
    expect(requests).toEqual([]);
  });

  it('merge-patches the /status subresource with only what changed', async () => {
    const { api, requests } = fake();
    const r = await new StatusWriter({ api }).patchStatus(obj, {
      observedGeneration: 2,
      conditions: [cond()],
    });
    expect(r.changed).toBe(true);
    expect(requests).toEqual([
      {
        method: 'PATCH',
        path: '/apis/privatespaces.dev/v1alpha1/spaces/s/status',
        query: { fieldManager: 'spaces-operator' },
        body: { status: { observedGeneration: 2 } },
        contentType: 'application/merge-patch+json',
        unread: true, // the answer (the whole object) is not parsed
      },
    ]);
  });

  it('does not write the same status again while the cache still shows the version it replaced', async () => {
    const { api, requests } = fake();
    const writer = new StatusWriter({ api });
    const cached = { ...obj, metadata: { name: 's', resourceVersion: '5' } };
    const next = { observedGeneration: 2, conditions: [cond()] };
    expect((await writer.patchStatus(cached, next)).changed).toBe(true);
    // The WATCH event of that write has not arrived: the cache still holds version 5.
    expect((await writer.patchStatus(cached, next)).changed).toBe(false);
    expect(requests).toHaveLength(1);
    // A different status is patched against what was written, not against the stale cache.
    await writer.patchStatus(cached, { ...next, observedGeneration: 3 });
    expect(requests[1]?.body).toEqual({ status: { observedGeneration: 3 } });
    // Once the cache moves on, it is the reference again.
    const moved = { ...obj, metadata: { name: 's', resourceVersion: '7' } };
    expect((await writer.patchStatus(moved, next)).changed).toBe(true);
    expect(requests[2]?.body).toEqual({ status: { observedGeneration: 2 } });
  });

  it('treats a vanished object as nothing to write, and rethrows other errors', async () => {
    const gone = fake(new ApiError(404, 'not found'));
    expect(await new StatusWriter({ api: gone.api }).patchStatus(obj, { observedGeneration: 9 })).toEqual({
      changed: false,
    });
    const broken = fake(new ApiError(500, 'boom'));
    await expect(
      new StatusWriter({ api: broken.api }).patchStatus(obj, { observedGeneration: 9 }),
    ).rejects.toThrow('boom');
  });
});
