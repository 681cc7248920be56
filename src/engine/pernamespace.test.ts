import { describe, expect, it } from 'vitest';
import { PerNamespace } from './pernamespace.ts';

describe('PerNamespace', () => {
  it('makes the value again only when the namespace’s objects are not the same ones', () => {
    const a = { n: 1 };
    const b = { n: 2 };
    const lists: Record<string, object[]> = { acme: [a, b], beta: [] };
    let made = 0;
    const per = new PerNamespace(
      (ns) => [...(lists[ns] ?? [])],
      (items) => ({ made: ++made, items }),
    );
    const one = per.of('acme');
    expect(per.of('acme')).toBe(one); // a fresh array of the same objects
    lists.acme = [a, { n: 2 }]; // b replaced (an informer update)
    const two = per.of('acme');
    expect(two).not.toBe(one);
    expect(two.items[1]).toEqual({ n: 2 });
    lists.acme = [a]; // one gone
    expect(per.of('acme').items).toEqual([a]);
    expect(per.of('beta').items).toEqual([]);
    expect(made).toBe(4);
  });
});

describe('PerNamespace with same/rebind', () => {
  it('rebinds the value to the current objects when each is `same` as before, makes it again otherwise', () => {
    type O = { uid: string; gen: number; status?: string };
    let list: O[] = [
      { uid: 'a', gen: 1 },
      { uid: 'b', gen: 1 },
    ];
    let made = 0;
    const per = new PerNamespace(
      () => [...list],
      (items: readonly O[]) => ({ made: ++made, items }),
      { same: (x, y) => x.uid === y.uid && x.gen === y.gen, rebind: (v, items) => ({ ...v, items }) },
    );
    const one = per.of('acme');
    list = [list[0]!, { uid: 'b', gen: 1, status: 'Ready' }]; // a status write
    const two = per.of('acme');
    expect(two.made).toBe(1);
    expect(two.items[1]!.status).toBe('Ready'); // the current object, not the old one
    expect(two).not.toBe(one);
    list = [list[0]!, { uid: 'b', gen: 2 }]; // a spec change
    expect(per.of('acme').made).toBe(2);
  });
});

describe('PerNamespace with extend', () => {
  it('adds the objects appended after those the value was made from; makes it again when one before them changed', () => {
    type O = { uid: string; gen: number };
    let list: O[] = [{ uid: 'a', gen: 1 }];
    const calls: string[] = [];
    const per = new PerNamespace(
      () => [...list],
      (items: readonly O[]) => {
        calls.push(`make ${items.length}`);
        return { items };
      },
      {
        same: (x, y) => x.uid === y.uid && x.gen === y.gen,
        rebind: (_v, items) => ({ items }),
        extend: (_v, items, from) => {
          calls.push(`extend ${from}->${items.length}`);
          return { items };
        },
      },
    );
    per.of('acme');
    list = [...list, { uid: 'b', gen: 1 }, { uid: 'c', gen: 1 }]; // two created
    expect(per.of('acme').items.map((o) => o.uid)).toEqual(['a', 'b', 'c']);
    list = [{ uid: 'a', gen: 1 }, list[1]!, list[2]!, { uid: 'd', gen: 1 }]; // a's status written, d created
    per.of('acme');
    list = [{ uid: 'a', gen: 2 }, ...list.slice(1), { uid: 'e', gen: 1 }]; // a's spec changed, e created
    per.of('acme');
    list = list.slice(1); // a deleted
    per.of('acme');
    expect(calls).toEqual(['make 1', 'extend 1->3', 'extend 3->4', 'make 5', 'make 4']);
  });
});
