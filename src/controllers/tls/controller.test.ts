import { describe, expect, it } from 'vitest';
import { accessBinding } from '../../tls/store.ts';
import { subjectOf } from './controller.ts';

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
