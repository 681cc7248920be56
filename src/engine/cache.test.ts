import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ObjectCache, objectKey, relistDiff } from './cache.ts';

const obj = (
  name: string,
  rv: string,
  namespace?: string,
  labels?: Record<string, string>,
): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, resourceVersion: rv, labels },
});

describe('objectKey', () => {
  it.each([
    [obj('a', '1', 'ns'), 'ns/a'],
    [obj('a', '1'), 'a'],
  ])('keys %j as %s', (o, key) => {
    expect(objectKey(o)).toBe(key);
  });
});

describe('relistDiff', () => {
  it('adds new keys, updates changed resourceVersions, deletes vanished keys', () => {
    const current = new Map([
      ['ns/same', obj('same', '1', 'ns')],
      ['ns/changed', obj('changed', '1', 'ns')],
      ['ns/gone', obj('gone', '1', 'ns')],
    ]);
    const items = [obj('same', '1', 'ns'), obj('changed', '5', 'ns'), obj('new', '6', 'ns')];
    const diff = relistDiff(current, items);
    expect(diff.added.map(objectKey)).toEqual(['ns/new']);
    expect(
      diff.updated.map((u) => [u.old.metadata?.resourceVersion, u.new.metadata?.resourceVersion]),
    ).toEqual([['1', '5']]);
    expect(diff.deleted.map(objectKey)).toEqual(['ns/gone']);
  });

  it('is empty when nothing changed', () => {
    const current = new Map([['a', obj('a', '1')]]);
    expect(relistDiff(current, [obj('a', '1')])).toEqual({ added: [], updated: [], deleted: [] });
  });

  it('compares content when resourceVersions are missing', () => {
    const a = { metadata: { name: 'a' }, data: { x: '1' } } as KubernetesObject;
    const b = { metadata: { name: 'a' }, data: { x: '2' } } as KubernetesObject;
    expect(relistDiff(new Map([['a', a]]), [b]).updated).toHaveLength(1);
    expect(relistDiff(new Map([['a', a]]), [a]).updated).toHaveLength(0);
  });
});

describe('ObjectCache', () => {
  const bySpace = (o: KubernetesObject) =>
    o.metadata?.labels?.['space'] ? [o.metadata.labels['space']] : [];

  it('gets, lists by namespace and removes', () => {
    const c = new ObjectCache();
    c.upsert(obj('a', '1', 'x'));
    c.upsert(obj('b', '1', 'y'));
    c.upsert(obj('n', '1'));
    expect(c.get('x/a')?.metadata?.name).toBe('a');
    expect(c.list('x').map(objectKey)).toEqual(['x/a']);
    expect(c.list()).toHaveLength(3);
    expect(c.remove('x/a')?.metadata?.name).toBe('a');
    expect(c.remove('x/a')).toBeUndefined();
    expect(c.size).toBe(2);
  });

  it('keeps the namespace listing in step with updates and removals', () => {
    const c = new ObjectCache();
    c.upsert(obj('a', '1', 'x'));
    c.upsert(obj('b', '1', 'x'));
    c.upsert(obj('c', '1', 'y'));
    c.upsert(obj('a', '2', 'x'));
    expect(c.list('x').map((o) => `${objectKey(o)}@${o.metadata?.resourceVersion}`)).toEqual([
      'x/a@2',
      'x/b@1',
    ]);
    expect(c.countIn('x')).toBe(2);
    c.remove('x/a');
    c.remove('x/b');
    expect(c.list('x')).toEqual([]);
    expect(c.countIn('x')).toBe(0);
    expect(c.list('y').map(objectKey)).toEqual(['y/c']);
    // Cluster-scoped objects belong to no namespace.
    c.upsert(obj('n', '1'));
    expect(c.list('')).toEqual([]);
    expect(c.list()).toHaveLength(2);
  });

  it('hands out one list per namespace until that namespace changes', () => {
    const c = new ObjectCache();
    c.upsert(obj('a', '1', 'x'));
    c.upsert(obj('c', '1', 'y'));
    const x = c.list('x');
    const y = c.list('y');
    expect(c.list('x')).toBe(x);
    // A change in x makes x's next list; y's stays the same array.
    c.upsert(obj('b', '1', 'x'));
    expect(c.list('x')).not.toBe(x);
    expect(x.map(objectKey)).toEqual(['x/a']);
    expect(c.list('x').map(objectKey)).toEqual(['x/a', 'x/b']);
    expect(c.list('y')).toBe(y);
    const updated = c.list('x');
    c.upsert(obj('a', '2', 'x'));
    expect(c.list('x').map((o) => o.metadata?.resourceVersion)).toEqual(['2', '1']);
    expect(updated.map((o) => o.metadata?.resourceVersion)).toEqual(['1', '1']);
    const before = c.list('x');
    c.remove('x/b');
    expect(c.list('x').map(objectKey)).toEqual(['x/a']);
    expect(before).toHaveLength(2);
    expect(c.remove('x/zzz')).toBeUndefined();
    expect(c.list('nowhere')).toEqual([]);
  });

  it('keeps indexes in step with updates and removals', () => {
    const c = new ObjectCache({ space: bySpace });
    c.upsert(obj('a', '1', 'ns', { space: 's1' }));
    c.upsert(obj('b', '1', 'ns', { space: 's1' }));
    expect(c.byIndex('space', 's1').map(objectKey)).toEqual(['ns/a', 'ns/b']);
    c.upsert(obj('a', '2', 'ns', { space: 's2' }));
    expect(c.byIndex('space', 's1').map(objectKey)).toEqual(['ns/b']);
    expect(c.byIndex('space', 's2').map(objectKey)).toEqual(['ns/a']);
    c.remove('ns/b');
    expect(c.byIndex('space', 's1')).toEqual([]);
  });

  it('refuses an undeclared index', () => {
    expect(() => new ObjectCache().byIndex('nope', 'x')).toThrow(/no index named nope/);
  });
});
