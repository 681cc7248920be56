import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  InternTable,
  NodeTable,
  OWNED_ENTRIES,
  composeTransforms,
  internFields,
  internStrings,
  omit,
  slimManagedFields,
} from './slim.ts';
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
  it('keeps the main-resource Apply entries of the given managers, and the spec of foreign ones', () => {
    const slim = slimManagedFields(['spaces-operator']);
    const out = slim(svc('a', entries()));
    expect(out.metadata?.managedFields).toEqual([
      { manager: 'spaces-operator', operation: 'Apply', apiVersion: 'v1', fieldsV1: fields() },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        apiVersion: undefined,
        fieldsV1: { 'f:spec': { 'f:clusterIP': {} } },
      },
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: undefined,
        fieldsV1: { 'f:spec': { 'f:ports': {} } },
      },
    ]);
    expect(out.metadata?.resourceVersion).toBe('1');
  });

  it('cuts foreign entries to spec, labels and annotations (not finalizers or owner references)', () => {
    const slim = slimManagedFields(['spaces-operator']);
    const foreign: ManagedFieldsEntry[] = [
      {
        manager: 'gc',
        operation: 'Update',
        fieldsV1: { 'f:metadata': { 'f:ownerReferences': {}, 'f:finalizers': {} } },
      },
      {
        manager: 'kubectl-edit',
        operation: 'Update',
        fieldsV1: {
          'f:metadata': { 'f:annotations': { 'f:x': {} }, 'f:finalizers': {} },
          'f:spec': { 'f:egress': {} },
        },
      },
    ];
    const out = slim(svc('a', [entries()[0]!, ...foreign]));
    expect(out.metadata?.managedFields?.slice(1)).toEqual([
      {
        manager: 'kubectl-edit',
        operation: 'Update',
        apiVersion: undefined,
        fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:x': {} } }, 'f:spec': { 'f:egress': {} } },
      },
    ]);
  });

  it('keeps no foreign entry on objects we never applied', () => {
    const slim = slimManagedFields(['spaces-operator']);
    expect(slim(svc('a', entries().slice(2))).metadata).not.toHaveProperty('managedFields');
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

describe('internFields', () => {
  it('shares equal subtrees across tries and keeps the differing path apart', () => {
    const owner = (uid: string) => ({
      'f:metadata': {
        'f:labels': { 'f:app': {}, 'f:space': {} },
        'f:ownerReferences': { [`k:{"uid":"${uid}"}`]: {} },
      },
      'f:spec': { 'f:ports': { 'k:{"port":80}': { '.': {}, 'f:port': {} } }, 'f:type': {} },
    });
    const a = internFields(owner('u1')) as Record<string, Record<string, unknown>>;
    expect(a).toEqual(owner('u1'));
    expect(Object.isFrozen(a['f:metadata'])).toBe(true);
    // Leaves within one trie are one object.
    const ports = (a['f:spec']!['f:ports'] as Record<string, Record<string, unknown>>)['k:{"port":80}']!;
    expect(ports['.']).toBe(ports['f:port']);
  });

  it('shares a trie interned before as the very same object, and tells apart tries that differ only deep down', () => {
    const table = new NodeTable();
    const trie = (port: number) => ({
      'f:spec': { 'f:ports': { [`k:{"port":${port}}`]: { '.': {}, 'f:port': {} } } },
    });
    const a = internFields(trie(80), table);
    expect(internFields(trie(80), table)).toBe(a);
    const b = internFields(trie(81), table);
    expect(b).not.toBe(a);
    expect(b).toEqual(trie(81));
  });

  it('stays equal to its input when the table forgets (full) between and within tries', () => {
    const table = new NodeTable(3);
    const trie = (n: number) => ({ 'f:a': { 'f:b': { [`f:${n}`]: {} }, 'f:c': {} }, 'f:d': { 'f:e': {} } });
    for (let n = 0; n < 20; n++) expect(internFields(trie(n % 4), table)).toEqual(trie(n % 4));
  });

  it('holds at most its limit of Maps however many different tries go through it', () => {
    const table = new NodeTable(50);
    const trie = (n: number) => ({ 'f:spec': { [`f:x${n}`]: { 'f:y': {} }, 'f:z': { [`f:${n % 7}`]: {} } } });
    for (let n = 0; n < 500; n++) {
      expect(internFields(trie(n), table)).toEqual(trie(n));
      expect(table.size).toBeLessThanOrEqual(50 + 8);
    }
    // Still shares what it holds.
    expect(internFields(trie(499), table)).toBe(internFields(trie(499), table));
  });

  it('through slimManagedFields, children of different owners share one trie (owner refs collapsed)', () => {
    const slim = slimManagedFields(['spaces-operator']);
    const withOwner = (name: string, uid: string): KubernetesObject =>
      svc(name, [
        {
          manager: 'spaces-operator',
          operation: 'Apply',
          fieldsV1: {
            ...fields(),
            'f:metadata': { 'f:ownerReferences': { [`k:{"uid":"${uid}"}`]: { '.': {}, 'f:uid': {} } } },
          },
        },
      ]);
    const a = slim(withOwner('a', 'u1')).metadata!.managedFields!;
    const b = slim(withOwner('b', 'u2')).metadata!.managedFields!;
    expect(a[0]!.fieldsV1).toBe(b[0]!.fieldsV1);
    expect(a[0]!.fieldsV1).toEqual({
      'f:metadata': { 'f:ownerReferences': { [OWNED_ENTRIES]: {} } },
      'f:spec': { 'f:type': {} },
    });
    // Owned while the desired object has an owner reference; dropped ones are noticed.
    const desired = { metadata: { ownerReferences: [{ uid: 'u3' }] }, spec: { type: 'ClusterIP' } };
    expect(ownsFieldsNotDesired(a as ManagedFieldsEntry[], 'spaces-operator', desired)).toBe(false);
    expect(
      ownsFieldsNotDesired(a as ManagedFieldsEntry[], 'spaces-operator', {
        ...desired,
        metadata: { ownerReferences: [] },
      }),
    ).toBe(true);
    expect(
      ownsFieldsNotDesired(a as ManagedFieldsEntry[], 'spaces-operator', { spec: { type: 'ClusterIP' } }),
    ).toBe(true);
  });

  it('drops managedFields by copying metadata, never with delete (dictionary-mode objects are ~4x bigger)', () => {
    const slim = slimManagedFields(['spaces-operator']);
    const obj = svc('a', entries().slice(2));
    const before = obj.metadata;
    const out = slim(obj);
    expect(out.metadata).not.toBe(before);
    expect(out.metadata).toEqual({ name: 'a', namespace: 'ns', resourceVersion: '1' });
    expect(omit({ a: 1, b: 2, c: 3 }, ['b'])).toEqual({ a: 1, c: 3 });
  });
});

describe('internStrings', () => {
  it('makes equal values one string, leaves unique keys alone, and keeps the object equal', () => {
    const table = new InternTable<string>();
    const intern = internStrings<Record<string, unknown>>(128, table);
    const mk = () =>
      JSON.parse(
        '{"metadata":{"namespace":"acme","uid":"u-1","resourceVersion":"9","labels":{"app":"web"}},"spec":{"ranges":["10.0.0.0/8"]}}',
      ) as Record<string, unknown>;
    const a = intern(mk());
    const b = intern(mk());
    expect(a).toEqual(mk());
    expect(b).toEqual(a);
    // String identity is not observable from JS: the table shows which values were shared
    // (acme, u-1, web, 10.0.0.0/8; not the resourceVersion).
    expect(table.size).toBe(4);
    const frozen = Object.freeze({ x: 'y' });
    expect(intern({ frozen })).toEqual({ frozen: { x: 'y' } });
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
