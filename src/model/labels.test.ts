import { describe, expect, it } from 'vitest';
import { managedLabels, sortedLabels } from './labels.ts';

describe('labels', () => {
  it.each([
    [
      'acme',
      undefined,
      { 'app.kubernetes.io/managed-by': 'spaces-operator', 'privatespaces.dev/space': 'acme' },
    ],
    [
      'acme',
      'www',
      {
        'app.kubernetes.io/managed-by': 'spaces-operator',
        'privatespaces.dev/app': 'www',
        'privatespaces.dev/space': 'acme',
      },
    ],
  ])('managedLabels(%s, %s)', (space, app, want) => {
    const got = managedLabels(space, app);
    expect(got).toEqual(want);
    expect(Object.keys(got)).toEqual(Object.keys(want).sort());
  });

  it('sortedLabels orders keys and keeps values', () => {
    expect(Object.entries(sortedLabels({ b: '1', a: '2' }))).toEqual([
      ['a', '2'],
      ['b', '1'],
    ]);
  });
});
