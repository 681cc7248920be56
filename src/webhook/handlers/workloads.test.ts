import { describe, expect, it } from 'vitest';
import { decide } from '../admission.ts';
import { app, memLookup, request, space, type World } from '../fixtures.ts';
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

  it('allows hostNetwork for an external app and a plain internal app', async () => {
    expect(await run('CREATE', deployment('www', { ...podSpec(), hostNetwork: true }))).toEqual({
      allowed: true,
    });
    expect(await run('CREATE', deployment('api', podSpec()))).toEqual({ allowed: true });
  });
});
