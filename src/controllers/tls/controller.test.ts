import { describe, expect, it } from 'vitest';
import { accessBinding } from '../../tls/store.ts';
import { SECRET_RECHECK_MS, recheckDelayMs, recheckMs, subjectOf } from './controller.ts';

describe("the operator's access RoleBinding", () => {
  it('binds the operator itself: its ServiceAccount, or the user it runs as', () => {
    expect(subjectOf('system:serviceaccount:spaces-system:spaces-operator')).toEqual({
      kind: 'ServiceAccount',
      namespace: 'spaces-system',
      name: 'spaces-operator',
    });
    expect(subjectOf('kubernetes-admin')).toEqual({ kind: 'User', name: 'kubernetes-admin' });
  });

  it('grants spaces-operator-space-tls in the Space namespace only, owned by the Space', () => {
    const b = accessBinding(
      { metadata: { name: 'acme', uid: 'u1' } },
      subjectOf('system:serviceaccount:spaces-system:spaces-operator'),
    );
    expect(b).toMatchObject({
      kind: 'RoleBinding',
      metadata: {
        name: 'spaces-operator-space-tls',
        namespace: 'acme',
        ownerReferences: [{ kind: 'Space', uid: 'u1' }],
      },
      roleRef: { kind: 'ClusterRole', name: 'spaces-operator-space-tls' },
      subjects: [{ kind: 'ServiceAccount', namespace: 'spaces-system', name: 'spaces-operator' }],
    });
  });
});

describe('how often an App Secret is re-read (the backstop of the ownership webhook)', () => {
  it('every 5 min up to 600 Apps, then spaced so all of them take at most ~2 reads a second', () => {
    expect(recheckMs(0)).toBe(SECRET_RECHECK_MS);
    expect(recheckMs(600)).toBe(SECRET_RECHECK_MS);
    expect(recheckMs(1000)).toBe(500_000);
    expect(recheckMs(10_000)).toBe(5_000_000);
    // Reads per second at any size, when every App holds a certificate.
    for (const apps of [1, 100, 1000, 10_000, 100_000])
      expect(apps / (recheckMs(apps) / 1000)).toBeLessThanOrEqual(2);
  });

  it('secretRecheckMs, when given, is used as it is', () => {
    expect(recheckMs(10_000, 1000)).toBe(1000);
  });

  it('a burst of Apps issued together is read again spread over the interval, not all at once', () => {
    const base = recheckMs(1000);
    const delays = Array.from({ length: 1000 }, (_, i) => recheckDelayMs(`bench-s${i % 10}/app-${i}`, base));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(base);
      expect(d).toBeLessThan(2 * base);
    }
    expect(recheckDelayMs('a/b', base)).toBe(recheckDelayMs('a/b', base));
    // Every tenth of [base, 2 base) holds 100 ± 35 of the 1000 re-reads: ~2 a second at most.
    const tenths = new Array<number>(10).fill(0);
    for (const d of delays) tenths[Math.floor(((d - base) / base) * 10)]!++;
    for (const n of tenths) expect(Math.abs(n - 100)).toBeLessThanOrEqual(35);
  });
});
