import { describe, expect, it } from 'vitest';
import { deepEqual, foreignManagersOfUndesired, isSubset, ownsFieldsNotDesired, prune } from './subset.ts';

const live = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: 'a',
    labels: { app: 'web', extra: 'x' },
    annotations: { note: 'n' },
    ownerReferences: [
      { apiVersion: 'v1', kind: 'Other', name: 'o', uid: 'u0' },
      { apiVersion: 'privatespaces.dev/v1alpha1', kind: 'App', name: 'web', uid: 'u1', controller: true },
    ],
    resourceVersion: '7',
  },
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.0.0.1',
    ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
    selector: { app: 'web' },
  },
};

describe('isSubset', () => {
  it.each([
    ['the same object', live, true],
    [
      'fewer fields (server defaults on live)',
      { metadata: { name: 'web' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } },
      true,
    ],
    ['a subset of labels', { metadata: { labels: { app: 'web' } } }, true],
    ['a label with another value', { metadata: { labels: { app: 'api' } } }, false],
    ['a missing label', { metadata: { labels: { team: 't' } } }, false],
    ['a missing annotation', { metadata: { annotations: { other: 'o' } } }, false],
    [
      'one of several owner references',
      { metadata: { ownerReferences: [{ uid: 'u1', kind: 'App', name: 'web' }] } },
      true,
    ],
    ['an absent owner reference', { metadata: { ownerReferences: [{ uid: 'u9' }] } }, false],
    ['a changed port', { spec: { ports: [{ port: 81 }] } }, false],
    ['an extra port', { spec: { ports: [{ port: 80 }, { port: 443 }] } }, false],
    ['one port fewer (a removed element)', { spec: { ports: [] } }, false],
    ['a string where a number is live', { spec: { ports: [{ port: '80' }] } }, false],
    ['a field live lacks', { spec: { externalName: 'x' } }, false],
    ['an undefined member (ignored)', { spec: { externalName: undefined } }, true],
    ['null for a field live lacks', { spec: { externalName: null } }, true],
    ['an object where live has a scalar', { spec: { type: { a: 1 } } }, false],
  ])('%s → %s', (_name, desired, expected) => {
    expect(isSubset(desired, live)).toBe(expected);
  });

  it('compares arrays in order', () => {
    expect(isSubset({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(isSubset({ a: [{ x: 1 }, { y: 2 }] }, { a: [{ x: 1, z: 0 }, { y: 2 }] })).toBe(true);
  });
});

describe('deepEqual', () => {
  it.each([
    [{ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [[1, 2], [1, 2, 3], false],
    [null, {}, false],
    [{ a: 1, b: 2 }, { a: 1, c: 2 }, false],
    [{ a: undefined }, {}, true],
    [{ a: [] }, { a: {} }, false],
    [{ a: { b: [{ c: 1 }] } }, { a: { b: [{ c: '1' }] } }, false],
  ])('%j vs %j → %s', (a, b, expected) => {
    expect(deepEqual(a, b)).toBe(expected);
  });
});

describe('ownsFieldsNotDesired', () => {
  const fieldsV1 = {
    'f:metadata': { 'f:labels': { 'f:app': {}, 'f:tier': {} } },
    'f:spec': {
      'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {}, 'f:targetPort': {} } },
      'f:selector': {},
    },
  };
  const managed = [
    { manager: 'spaces-operator', operation: 'Apply', fieldsV1 },
    {
      manager: 'kubectl',
      operation: 'Update',
      fieldsV1: { 'f:metadata': { 'f:labels': { 'f:extra': {} } } },
    },
  ];
  const desired = {
    metadata: { labels: { app: 'web', tier: 'web' } },
    spec: { ports: [{ port: 80, targetPort: 8080 }], selector: { app: 'web' } },
  };

  it('is false when every owned field is still desired (a defaulted key field matches)', () => {
    expect(ownsFieldsNotDesired(managed, 'spaces-operator', desired)).toBe(false);
  });

  it('is true when an owned label was dropped', () => {
    const dropped = { ...desired, metadata: { labels: { app: 'web' } } };
    expect(ownsFieldsNotDesired(managed, 'spaces-operator', dropped)).toBe(true);
  });

  it('is true when an owned list entry was dropped', () => {
    const dropped = { ...desired, spec: { ports: [{ port: 443 }], selector: { app: 'web' } } };
    expect(ownsFieldsNotDesired(managed, 'spaces-operator', dropped)).toBe(true);
  });

  it('follows set values and indexes', () => {
    const m = [
      {
        manager: 'm',
        operation: 'Apply',
        fieldsV1: { 'f:a': { 'v:"x"': {} }, 'f:b': { 'i:0': { 'f:c': {} } } },
      },
    ];
    expect(ownsFieldsNotDesired(m, 'm', { a: ['x'], b: [{ c: 1 }] })).toBe(false);
    expect(ownsFieldsNotDesired(m, 'm', { a: ['y'], b: [{ c: 1 }] })).toBe(true);
    expect(ownsFieldsNotDesired(m, 'm', { a: ['x'], b: [] })).toBe(true);
  });

  it('ignores other managers, Update operations and the status subresource', () => {
    const m = [
      { manager: 'spaces-operator', operation: 'Update', fieldsV1: { 'f:x': {} } },
      { manager: 'spaces-operator', operation: 'Apply', subresource: 'status', fieldsV1: { 'f:status': {} } },
    ];
    expect(ownsFieldsNotDesired(m, 'spaces-operator', {})).toBe(false);
  });

  it('says yes to what it cannot read', () => {
    const m = [{ manager: 'm', operation: 'Apply', fieldsV1: { 'z:unknown': {} } }];
    expect(ownsFieldsNotDesired(m, 'm', {})).toBe(true);
  });
});

describe('foreignManagersOfUndesired', () => {
  const desired = {
    metadata: { labels: { app: 'billing' } },
    spec: { podSelector: { matchLabels: { app: 'billing' } }, ingress: [{}], policyTypes: ['Ingress'] },
  };
  const ours = { manager: 'spaces-operator', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:egress': {} } } };

  it("names a manager that added egress or matchExpressions to the operator's policy", () => {
    const edit = { manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:spec': { 'f:egress': {} } } };
    const expr = {
      manager: 'tenant',
      operation: 'Apply',
      fieldsV1: { 'f:spec': { 'f:podSelector': { 'f:matchExpressions': {} } } },
    };
    expect(foreignManagersOfUndesired([ours, edit, expr], 'spaces-operator', desired)).toEqual([
      'kubectl-edit',
      'tenant',
    ]);
  });

  it('ignores fields the desired object sets, our own entries, status, finalizers and ignored paths', () => {
    const same = {
      manager: 'tenant',
      operation: 'Apply',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} }, 'f:finalizers': {} },
        'f:spec': { 'f:podSelector': {} },
      },
    };
    const status = {
      manager: 'x',
      operation: 'Update',
      subresource: 'status',
      fieldsV1: { 'f:spec': { 'f:y': {} } },
    };
    const ip = { manager: 'kcm', operation: 'Update', fieldsV1: { 'f:spec': { 'f:clusterIP': {} } } };
    expect(foreignManagersOfUndesired([ours, same, status], 'spaces-operator', desired)).toEqual([]);
    expect(foreignManagersOfUndesired([ip], 'spaces-operator', desired)).toEqual(['kcm']);
    expect(foreignManagersOfUndesired([ip], 'spaces-operator', desired, [['f:spec', 'f:clusterIP']])).toEqual(
      [],
    );
  });

  it('names a manager that added a label or an annotation', () => {
    const ann = {
      manager: 'm',
      operation: 'Update',
      fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:lb': {} } } },
    };
    expect(foreignManagersOfUndesired([ann], 'spaces-operator', desired)).toEqual(['m']);
  });
});

describe('prune', () => {
  it('drops nodes at the paths, * matching any key', () => {
    const trie = {
      'f:spec': {
        'f:clusterIP': {},
        'f:ports': { 'k:{"port":80}': { 'f:nodePort': {}, 'f:port': {} } },
      },
    };
    expect(
      prune(trie, [
        ['f:spec', 'f:clusterIP'],
        ['f:spec', 'f:ports', '*', 'f:nodePort'],
      ]),
    ).toEqual({
      'f:spec': { 'f:ports': { 'k:{"port":80}': { 'f:port': {} } } },
    });
    expect(prune(trie, [])).toBe(trie);
  });
});
