import { describe, expect, it } from 'vitest';
import { decide } from '../admission.ts';
import { app, memLookup, request, space, type World } from '../../../test/support/webhook-fixtures.ts';
import type { Decision, KubeObject } from '../types.ts';
import { buildHandlers } from './index.ts';

const world: World = {
  spaces: [space('acme')],
  apps: [app('acme', 'api', { internalRouting: true }), app('acme', 'www')],
};
const run = (...args: Parameters<typeof request>): Promise<Decision> =>
  decide(request(...args), buildHandlers(memLookup(world)));

const podSpec = (extra: object = {}) => ({ containers: [{ name: 'c', image: 'x', ...extra }] });
const labels = (a: string) => ({ 'privatespaces.dev/app': a });

function deployment(appName: string, spec: object): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'acme' },
    spec: {
      selector: { matchLabels: labels(appName) },
      template: { metadata: { labels: labels(appName) }, spec },
    },
  };
}

describe('workloads (reach guards)', () => {
  it('denies a Deployment running an internal app with hostNetwork', async () => {
    const d = await run('CREATE', deployment('api', { ...podSpec(), hostNetwork: true }));
    expect(!d.allowed && d.message).toContain('spec.template.spec.hostNetwork');
  });

  it('denies a Pod of an internal app with a hostPort', async () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'api-', namespace: 'acme', labels: labels('api') },
      spec: podSpec({ ports: [{ containerPort: 80, hostPort: 8080 }] }),
    };
    const d = await run('CREATE', pod);
    expect(!d.allowed && d.message).toContain('spec.containers[0].ports[0].hostPort');
  });

  it('denies a CronJob of an internal app with hostNetwork', async () => {
    const cj: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'cj', namespace: 'acme' },
      spec: {
        schedule: '* * * * *',
        jobTemplate: {
          spec: {
            template: { metadata: { labels: labels('api') }, spec: { ...podSpec(), hostNetwork: true } },
          },
        },
      },
    };
    expect((await run('CREATE', cj)).allowed).toBe(false);
  });

  it('allows plain pods of any app', async () => {
    expect(await run('CREATE', deployment('www', podSpec()))).toEqual({ allowed: true });
    expect(await run('CREATE', deployment('api', podSpec()))).toEqual({ allowed: true });
  });

  it('allows host access outside every Space', async () => {
    const d = { ...deployment('api', { ...podSpec(), hostNetwork: true }) };
    d.metadata = { name: 'd', namespace: 'default' };
    expect(await run('CREATE', d)).toEqual({ allowed: true });
  });
});

describe('workloads: host access is refused for every pod of a Space (attack 7)', () => {
  const templates: [string, string, (spec: object, l: object) => object][] = [
    ['', 'Pod', (spec, l) => ({ metadata: { name: 'w', namespace: 'acme', labels: l }, spec })],
    ['apps/v1', 'Deployment', (spec, l) => ({ spec: { template: { metadata: { labels: l }, spec } } })],
    ['apps/v1', 'StatefulSet', (spec, l) => ({ spec: { template: { metadata: { labels: l }, spec } } })],
    ['apps/v1', 'DaemonSet', (spec, l) => ({ spec: { template: { metadata: { labels: l }, spec } } })],
    ['apps/v1', 'ReplicaSet', (spec, l) => ({ spec: { template: { metadata: { labels: l }, spec } } })],
    ['v1', 'ReplicationController', (spec, l) => ({ spec: { template: { metadata: { labels: l }, spec } } })],
    ['batch/v1', 'Job', (spec, l) => ({ spec: { template: { metadata: { labels: l }, spec } } })],
    [
      'batch/v1',
      'CronJob',
      (spec, l) => ({ spec: { jobTemplate: { spec: { template: { metadata: { labels: l }, spec } } } } }),
    ],
  ];
  const offences: [string, object][] = [
    ['hostNetwork: true', { hostNetwork: true }],
    ['hostPID: true', { hostPID: true }],
    ['hostIPC: true', { hostIPC: true }],
    [
      'hostPort: 8080',
      { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }] },
    ],
  ];
  const cases = templates.flatMap(([apiVersion, kind, make]) =>
    offences.map(([what, extra]) => ({ apiVersion, kind, make, what, extra })),
  );

  it.each(cases)('$kind with $what and unrelated labels', async ({ apiVersion, kind, make, what, extra }) => {
    const body = make({ ...podSpec(), ...extra }, { role: 'debug' }) as KubeObject;
    const obj: KubeObject = {
      apiVersion: apiVersion || 'v1',
      kind,
      metadata: { name: 'w', namespace: 'acme' },
      ...body,
    };
    const d = await run('CREATE', obj);
    expect(!d.allowed && d.message).toMatch(
      new RegExp(`^${kind} acme/w would run pods with \\S*${what.replace('.', '\\.')}`),
    );
    expect(!d.allowed && d.message).toContain('in the namespace of Space "acme"');
  });

  // Ephemeral containers are added through the pods/ephemeralcontainers subresource, which this webhook
  // does not intercept. They cannot widen reach: host namespaces are pod-level fields (immutable after
  // creation), and the apiserver rejects `ports` (so any hostPort) on an ephemeral container. A pod UPDATE
  // that carries them is still judged on the pod's own spec, as below.
  it('judges a Pod UPDATE with its real spec, ephemeral containers included', async () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'acme', labels: { role: 'x' } },
      spec: { ...podSpec(), ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] },
    };
    const next = { ...pod, metadata: { ...pod.metadata, labels: labels('api') } };
    expect(await run('UPDATE', next, pod)).toEqual({ allowed: true });
  });

  it('refuses a label UPDATE that moves an old hostNetwork pod under an internal app', async () => {
    const old: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'h', namespace: 'acme', labels: { role: 'x' } },
      spec: { ...podSpec(), hostNetwork: true },
    };
    const moved = { ...old, metadata: { ...old.metadata, labels: labels('api') } };
    const d = await run('UPDATE', moved, old);
    expect(!d.allowed && d.message).toContain(
      'Pod acme/h would run pods of internal app "api" with spec.hostNetwork',
    );
    // An edit that leaves the old pod where it was passes, with a warning (the guarded update policy).
    const touched = { ...old, metadata: { ...old.metadata, annotations: { a: 'b' } } };
    const w = await run('UPDATE', touched, old);
    expect(w.allowed && w.warnings?.[0]).toContain('already like this');
  });
});

describe("workloads: an internal app's pods behind an exposing Service", () => {
  const exposed: World = {
    ...world,
    services: [
      { metadata: { name: 'np', namespace: 'acme' }, spec: { type: 'NodePort', selector: { tier: 'x' } } },
      { metadata: { name: 'cip', namespace: 'acme' }, spec: { type: 'ClusterIP', selector: { tier: 'y' } } },
    ],
  };
  const runIn = (...args: Parameters<typeof request>): Promise<Decision> =>
    decide(request(...args), buildHandlers(memLookup(exposed)));
  const pod = (l: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'acme', labels: l },
    spec: podSpec(),
  });

  it('refuses a pod of an internal app that a NodePort Service selects by a second label', async () => {
    const d = await runIn('CREATE', pod({ ...labels('api'), tier: 'x' }));
    expect(!d.allowed && d.message).toBe(
      'Pod acme/p is invalid: metadata.labels: pods labelled {privatespaces.dev/app=api, tier=x} belong to the ' +
        'internally routed App "api" and would be selected by a NodePort Service "np" (selector {tier=x}), ' +
        'which exposes them outside the Space; change the labels, or make that Service type ClusterIP without externalIPs',
    );
  });

  it('refuses a label UPDATE that moves a pod under both, and a Deployment template, naming its labels field', async () => {
    const before = pod({ tier: 'x' });
    expect((await runIn('UPDATE', pod({ ...labels('api'), tier: 'x' }), before)).allowed).toBe(false);
    const dep = deployment('api', podSpec());
    dep['spec'] = { template: { metadata: { labels: { ...labels('api'), tier: 'x' } }, spec: podSpec() } };
    const d = await runIn('CREATE', dep);
    expect(!d.allowed && d.message).toContain('is invalid: spec.template.metadata.labels: pods labelled');
  });

  it('allows the label on an external app, or an internal app behind a ClusterIP Service', async () => {
    expect(await runIn('CREATE', pod({ ...labels('www'), tier: 'x' }))).toEqual({ allowed: true });
    expect(await runIn('CREATE', pod({ ...labels('api'), tier: 'y' }))).toEqual({ allowed: true });
  });
});
