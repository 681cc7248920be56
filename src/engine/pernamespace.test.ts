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
