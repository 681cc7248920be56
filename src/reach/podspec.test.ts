import { describe, expect, it } from 'vitest';
import { podSpecField, podSpecOf } from './podspec.ts';

const labels = { 'privatespaces.dev/app': 'billing' };
const spec = { containers: [{ name: 'c', image: 'i' }] };
const template = { metadata: { labels }, spec };

describe('podSpecOf', () => {
  it.each([
    { kind: 'Pod', obj: { kind: 'Pod', metadata: { labels }, spec }, field: 'spec' },
    { kind: 'Deployment', obj: { kind: 'Deployment', spec: { template } }, field: 'spec.template.spec' },
    { kind: 'StatefulSet', obj: { kind: 'StatefulSet', spec: { template } }, field: 'spec.template.spec' },
    { kind: 'DaemonSet', obj: { kind: 'DaemonSet', spec: { template } }, field: 'spec.template.spec' },
    { kind: 'ReplicaSet', obj: { kind: 'ReplicaSet', spec: { template } }, field: 'spec.template.spec' },
    {
      kind: 'ReplicationController',
      obj: { kind: 'ReplicationController', spec: { template } },
      field: 'spec.template.spec',
    },
    { kind: 'Job', obj: { kind: 'Job', spec: { template } }, field: 'spec.template.spec' },
    {
      kind: 'CronJob',
      obj: { kind: 'CronJob', spec: { jobTemplate: { spec: { template } } } },
      field: 'spec.jobTemplate.spec.template.spec',
    },
  ])('$kind', ({ kind, obj, field }) => {
    expect(podSpecOf(obj)).toEqual({ labels, spec, field });
    expect(podSpecField(kind)).toBe(field);
  });

  it.each([
    { name: 'another kind', obj: { kind: 'Service', spec: {} } },
    { name: 'no kind', obj: { spec } },
    { name: 'no template', obj: { kind: 'Deployment', spec: {} } },
    { name: 'no spec', obj: { kind: 'Pod' } },
  ])('undefined for $name', ({ obj }) => {
    expect(podSpecOf(obj)).toBeUndefined();
  });

  it('a template without labels has none', () => {
    expect(podSpecOf({ kind: 'Job', spec: { template: { spec } } })?.labels).toEqual({});
  });
});
