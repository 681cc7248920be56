import { describe, expect, it } from 'vitest';
import { hostAccess, podLabelsField, podSpecField, podSpecOf } from './podspec.ts';

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

describe('podLabelsField', () => {
  it.each([
    ['spec', 'metadata.labels'],
    ['spec.template.spec', 'spec.template.metadata.labels'],
    ['spec.jobTemplate.spec.template.spec', 'spec.jobTemplate.spec.template.metadata.labels'],
  ])('%s → %s', (field, expected) => expect(podLabelsField(field)).toBe(expected));
});

describe('hostAccess', () => {
  const c = (ports?: { containerPort: number; hostPort?: number }[]) => ({
    name: 'c',
    image: 'i',
    ...(ports ? { ports } : {}),
  });
  it.each([
    [{ containers: [c()] }, undefined],
    [
      { containers: [c([{ containerPort: 80 }])], hostNetwork: false, hostPID: false, hostIPC: false },
      undefined,
    ],
    [{ containers: [c([{ containerPort: 80, hostPort: 0 }])] }, undefined],
    [{ containers: [c()], hostNetwork: true }, 'p.hostNetwork: true'],
    [{ containers: [c()], hostPID: true }, 'p.hostPID: true'],
    [{ containers: [c()], hostIPC: true }, 'p.hostIPC: true'],
    [
      { containers: [c(), c([{ containerPort: 1 }, { containerPort: 2, hostPort: 2 }])] },
      'p.containers[1].ports[1].hostPort: 2',
    ],
    [
      { containers: [c()], initContainers: [c([{ containerPort: 3, hostPort: 3 }])] },
      'p.initContainers[0].ports[0].hostPort: 3',
    ],
  ])('%j → %s', (spec, expected) => expect(hostAccess(spec, 'p')).toBe(expected));

  it('nothing for an absent spec', () => expect(hostAccess(undefined, 'spec')).toBeUndefined());
});
