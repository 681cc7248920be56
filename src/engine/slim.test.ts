import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { composeTransforms, slimManagedFields } from './slim.ts';
import { ownsFieldsNotDesired, type ManagedFieldsEntry } from './subset.ts';

const fields = (extra: Record<string, unknown> = {}) => ({
  'f:metadata': { 'f:labels': { 'f:app': {} } },
  'f:spec': { 'f:type': {}, ...extra },
});

const svc = (name: string, managed: ManagedFieldsEntry[]): KubernetesObject =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'ns', resourceVersion: '1', managedFields: managed },
    spec: { type: 'ClusterIP' },
  }) as KubernetesObject;

const entries = (extra?: Record<string, unknown>): ManagedFieldsEntry[] => [
  {
    manager: 'spaces-operator',
    operation: 'Apply',
    apiVersion: 'v1',
    time: '2026-01-01T00:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: fields(extra),
  } as ManagedFieldsEntry,
  { manager: 'spaces-operator', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } },
  { manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:spec': { 'f:clusterIP': {} } } },
  { manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:ports': {} } } },
];

describe('slimManagedFields', () => {
  it('keeps only the main-resource Apply entries of the given managers, cut to what the Applier reads', () => {
    const slim = slimManagedFields(['spaces-operator']);
    const out = slim(svc('a', entries()));
    expect(out.metadata?.managedFields).toEqual([
      { manager: 'spaces-operator', operation: 'Apply', apiVersion: 'v1', fieldsV1: fields() },
    ]);
    expect(out.metadata?.resourceVersion).toBe('1');
  });

  it('leaves no managedFields when none of ours remain', () => {
    const slim = slimManagedFields(['spaces-operator']);
    const out = slim(svc('a', entries().slice(2)));
    expect(out.metadata).not.toHaveProperty('managedFields');
    expect(slim({ metadata: { name: 'x' } }).metadata).toEqual({ name: 'x' });
  });

  it('shares one frozen copy of identical field sets, and keeps different ones apart', () => {
    const slim = slimManagedFields(['spaces-operator']);
    const a = slim(svc('a', entries())).metadata!.managedFields![0]!.fieldsV1;
    const b = slim(svc('b', entries())).metadata!.managedFields![0]!.fieldsV1;
    const c = slim(svc('c', entries({ 'f:loadBalancerSourceRanges': {} }))).metadata!.managedFields![0]!
      .fieldsV1;
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it("keeps the Applier's dropped-field check working", () => {
    const slim = slimManagedFields(['spaces-operator']);
    const live = slim(svc('a', entries({ 'f:loadBalancerSourceRanges': {} })));
    const managed = live.metadata!.managedFields as ManagedFieldsEntry[];
    const desired = { metadata: { labels: { app: 'a' } }, spec: { type: 'ClusterIP' } };
    expect(ownsFieldsNotDesired(managed, 'spaces-operator', desired)).toBe(true);
    expect(
      ownsFieldsNotDesired(managed, 'spaces-operator', {
        ...desired,
        spec: { ...desired.spec, loadBalancerSourceRanges: ['10.0.0.0/8'] },
      }),
    ).toBe(false);
  });
});

describe('composeTransforms', () => {
  it('applies transforms in order and skips undefined ones', () => {
    const f = composeTransforms<string[]>(
      (x) => [...x, 'a'],
      undefined,
      (x) => [...x, 'b'],
    );
    expect(f([])).toEqual(['a', 'b']);
  });
});
