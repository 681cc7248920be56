// The webhook's Space lookup on a cache miss (cacheLookup): which namespaces are worth a GET.
import { describe, expect, it } from 'vitest';
import { mayBeSpace } from './operator.ts';

type Meta = { labels?: Record<string, string>; annotations?: Record<string, string> };

const cache = (entries: Record<string, Meta>) => ({
  get: (name: string) => (Object.hasOwn(entries, name) ? { metadata: entries[name]! } : undefined),
});

describe('mayBeSpace', () => {
  const namespaces = cache({
    plain: { labels: { team: 'a' } },
    bare: {},
    acme: { labels: { 'privatespaces.dev/space': 'acme' } },
    adoptme: { annotations: { 'privatespaces.dev/adopt': 'adoptme' } },
  });

  it('asks the API for a namespace not cached yet (a Space and its Apps in one apply)', () => {
    expect(mayBeSpace(namespaces, 'fresh')).toBe(true);
  });

  it('asks for a cached namespace with the Space label or the adopt annotation', () => {
    expect(mayBeSpace(namespaces, 'acme')).toBe(true);
    expect(mayBeSpace(namespaces, 'adoptme')).toBe(true);
  });

  it('does not ask for a cached namespace with neither (no GET per admission there)', () => {
    expect(mayBeSpace(namespaces, 'plain')).toBe(false);
    expect(mayBeSpace(namespaces, 'bare')).toBe(false);
  });
});
