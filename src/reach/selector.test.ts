import type { V1LabelSelector } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  couldSelect,
  formatSelector,
  matchesNamespace,
  matchesSelector,
  namespaceLabels,
  pinnedNamespaces,
  pinnedValues,
  surelySelects,
} from './selector.ts';

const web = { app: 'web', tier: 'front' };

describe('matchesSelector', () => {
  it.each<{
    name: string;
    selector: V1LabelSelector | undefined;
    labels: Record<string, string>;
    want: boolean;
  }>([
    { name: 'absent selector matches all', selector: undefined, labels: web, want: true },
    { name: 'empty selector matches all', selector: {}, labels: web, want: true },
    { name: 'empty selector matches no labels', selector: {}, labels: {}, want: true },
    { name: 'matchLabels equal', selector: { matchLabels: { app: 'web' } }, labels: web, want: true },
    { name: 'matchLabels other value', selector: { matchLabels: { app: 'db' } }, labels: web, want: false },
    { name: 'matchLabels missing key', selector: { matchLabels: { env: 'prod' } }, labels: web, want: false },
    {
      name: 'matchLabels all must hold',
      selector: { matchLabels: { app: 'web', tier: 'back' } },
      labels: web,
      want: false,
    },
    {
      name: 'In holds',
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] },
      labels: web,
      want: true,
    },
    {
      name: 'In on missing key',
      selector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['x'] }] },
      labels: web,
      want: false,
    },
    {
      name: 'NotIn holds',
      selector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] },
      labels: web,
      want: true,
    },
    {
      name: 'NotIn fails',
      selector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] },
      labels: web,
      want: false,
    },
    {
      name: 'NotIn on missing key holds',
      selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['x'] }] },
      labels: web,
      want: true,
    },
    {
      name: 'Exists',
      selector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      labels: web,
      want: true,
    },
    {
      name: 'Exists on missing key',
      selector: { matchExpressions: [{ key: 'env', operator: 'Exists' }] },
      labels: web,
      want: false,
    },
    {
      name: 'DoesNotExist',
      selector: { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] },
      labels: web,
      want: true,
    },
    {
      name: 'DoesNotExist on present key',
      selector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      labels: web,
      want: false,
    },
    {
      name: 'matchLabels AND matchExpressions',
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }],
      },
      labels: web,
      want: false,
    },
    {
      name: 'inherited keys are not labels',
      selector: { matchExpressions: [{ key: 'toString', operator: 'Exists' }] },
      labels: {},
      want: false,
    },
  ])('$name', ({ selector, labels, want }) => {
    expect(matchesSelector(selector, labels)).toBe(want);
  });

  it('throws on an unknown operator', () => {
    expect(() =>
      matchesSelector({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }, {}),
    ).toThrow(/unknown label selector operator "Gt"/);
  });
});

describe('matchesNamespace', () => {
  const namespaces: { name: string; labels?: Record<string, string> }[] = [
    { name: 'acme', labels: { team: 'a', 'kubernetes.io/metadata.name': 'forged' } },
    { name: 'other', labels: { team: 'b' } },
    { name: 'bare' },
  ];
  const selectors: V1LabelSelector[] = [
    {},
    { matchLabels: { 'kubernetes.io/metadata.name': 'acme' } },
    { matchLabels: { 'kubernetes.io/metadata.name': 'forged' } },
    { matchLabels: { team: 'a' } },
    { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] },
    { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] },
    { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['other', 'bare'] }] },
    { matchLabels: { team: 'b' }, matchExpressions: [{ key: 'team', operator: 'Exists' }] },
  ];
  it.each(selectors.map((s) => [JSON.stringify(s), s] as const))(
    'answers as matchesSelector on the namespace labels with the apiserver-set name: %s',
    (_, selector) => {
      for (const ns of namespaces)
        expect(matchesNamespace(selector, ns)).toBe(matchesSelector(selector, namespaceLabels(ns)));
    },
  );

  it('reads kubernetes.io/metadata.name from the name, never from a label of that key', () => {
    expect(
      matchesNamespace({ matchLabels: { 'kubernetes.io/metadata.name': 'forged' } }, namespaces[0]!),
    ).toBe(false);
    expect(matchesNamespace({ matchLabels: { 'kubernetes.io/metadata.name': 'acme' } }, namespaces[0]!)).toBe(
      true,
    );
  });

  it('throws on an unknown operator even when matchLabels already fails', () => {
    const bad = {
      matchLabels: { team: 'z' },
      matchExpressions: [{ key: 'team', operator: 'Gt', values: ['1'] }],
    };
    expect(() => matchesNamespace(bad, namespaces[0]!)).toThrow();
    expect(() => matchesSelector(bad, { team: 'a' })).toThrow();
  });
});

describe('couldSelect / surelySelects (pods carrying these labels and maybe more)', () => {
  const app = { 'privatespaces.dev/app': 'billing' };
  it.each<{ name: string; selector: V1LabelSelector | undefined; could: boolean; surely: boolean }>([
    { name: 'empty selector', selector: {}, could: true, surely: true },
    { name: 'absent selector', selector: undefined, could: true, surely: true },
    { name: 'same app', selector: { matchLabels: app }, could: true, surely: true },
    {
      name: 'other app',
      selector: { matchLabels: { 'privatespaces.dev/app': 'web' } },
      could: false,
      surely: false,
    },
    {
      name: 'app and process',
      selector: { matchLabels: { ...app, 'privatespaces.dev/process': 'web' } },
      could: true,
      surely: false,
    },
    {
      name: 'process only',
      selector: { matchLabels: { 'privatespaces.dev/process': 'web' } },
      could: true,
      surely: false,
    },
    {
      name: 'contradiction on a free key (In and DoesNotExist)',
      selector: {
        matchExpressions: [
          { key: 'x', operator: 'In', values: ['a'] },
          { key: 'x', operator: 'DoesNotExist' },
        ],
      },
      could: false,
      surely: false,
    },
    {
      name: 'contradiction on a free key (In and NotIn the same value)',
      selector: {
        matchExpressions: [
          { key: 'x', operator: 'In', values: ['a'] },
          { key: 'x', operator: 'NotIn', values: ['a'] },
        ],
      },
      could: false,
      surely: false,
    },
    {
      name: 'In sets that do not intersect',
      selector: { matchLabels: { x: 'a' }, matchExpressions: [{ key: 'x', operator: 'In', values: ['b'] }] },
      could: false,
      surely: false,
    },
    {
      name: 'NotIn on a free key',
      selector: { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] },
      could: true,
      surely: false,
    },
    {
      name: 'DoesNotExist on a fixed key',
      selector: { matchExpressions: [{ key: 'privatespaces.dev/app', operator: 'DoesNotExist' }] },
      could: false,
      surely: false,
    },
  ])('$name', ({ selector, could, surely }) => {
    expect(couldSelect(selector, app)).toBe(could);
    expect(surelySelects(selector, app)).toBe(surely);
  });
});

describe('couldSelect: labels only (fast path) agrees with the same labels as In expressions', () => {
  const keys = ['a', 'b', 'c'];
  const values = ['1', '2'];
  // Every labels map over 3 keys × (absent, 1, 2): 27 selectors × 27 fixed sets.
  const maps = (): Record<string, string>[] =>
    keys.reduce<Record<string, string>[]>(
      (acc, k) => acc.flatMap((m) => [m, ...values.map((v) => ({ ...m, [k]: v }))]),
      [{}],
    );
  it('for all 729 pairs', () => {
    let disagreements = 0;
    let refusals = 0;
    for (const labels of maps())
      for (const fixed of maps()) {
        const asExpressions: V1LabelSelector = {
          matchExpressions: Object.entries(labels).map(([key, v]) => ({ key, operator: 'In', values: [v] })),
        };
        // An empty expression list would take the fast path too: add a requirement that always holds.
        asExpressions.matchExpressions!.push({ key: 'free', operator: 'NotIn', values: ['x'] });
        const fast = couldSelect({ matchLabels: labels }, fixed);
        if (fast !== couldSelect(asExpressions, fixed)) disagreements++;
        if (!fast) refusals++;
      }
    expect(disagreements).toBe(0);
    expect(refusals).toBeGreaterThan(100); // the fast path does refuse
  });
});

describe('pinnedValues / pinnedNamespaces', () => {
  const name = 'kubernetes.io/metadata.name';
  it.each<{ name: string; selector: V1LabelSelector; want: string[] | undefined }>([
    { name: 'empty', selector: {}, want: undefined },
    { name: 'other key', selector: { matchLabels: { team: 'a' } }, want: undefined },
    { name: 'matchLabels', selector: { matchLabels: { [name]: 'acme' } }, want: ['acme'] },
    {
      name: 'In',
      selector: { matchExpressions: [{ key: name, operator: 'In', values: ['acme', 'beta'] }] },
      want: ['acme', 'beta'],
    },
    {
      name: 'NotIn alone does not pin',
      selector: { matchExpressions: [{ key: name, operator: 'NotIn', values: ['x'] }] },
      want: undefined,
    },
    {
      name: 'In minus NotIn',
      selector: {
        matchExpressions: [
          { key: name, operator: 'In', values: ['acme', 'beta'] },
          { key: name, operator: 'NotIn', values: ['beta'] },
        ],
      },
      want: ['acme'],
    },
    {
      name: 'matchLabels intersected with In',
      selector: {
        matchLabels: { [name]: 'acme' },
        matchExpressions: [{ key: name, operator: 'In', values: ['beta'] }],
      },
      want: [],
    },
  ])('$name', ({ selector, want }) => {
    expect(pinnedNamespaces(selector)).toEqual(want);
  });

  it('DoesNotExist with In pins to nothing', () => {
    const sel: V1LabelSelector = {
      matchExpressions: [
        { key: 'k', operator: 'In', values: ['a'] },
        { key: 'k', operator: 'DoesNotExist' },
      ],
    };
    expect(pinnedValues(sel, 'k')).toEqual([]);
  });
});

describe('formatSelector', () => {
  it.each<{ selector: V1LabelSelector | undefined; want: string }>([
    { selector: undefined, want: '<all>' },
    { selector: {}, want: '<all>' },
    {
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
      want: 'app=web,tier in (a,b),env notin (dev),team,!legacy',
    },
  ])('$want', ({ selector, want }) => {
    expect(formatSelector(selector)).toBe(want);
  });
});
