import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { app } from '../../../test/support/webhook-fixtures.ts';
import {
  appHostPodErrors,
  appPods,
  appSelectorConflicts,
  internalAppSelected,
  isLivePod,
  selectorsOverlap,
  labelsMatch,
  serviceSelects,
} from './selection.ts';

const APP = 'privatespaces.dev/app';
const spec: V1PodSpec = { containers: [{ name: 'c', image: 'i' }] };
function pod(name: string, labels: Record<string, string>, extra: Partial<V1Pod> = {}): V1Pod {
  return { metadata: { name, namespace: 'acme', labels }, spec, status: { phase: 'Running' }, ...extra };
}

const billing = app('acme', 'billing', { internalRouting: true });
const www = app('acme', 'www');
const billingPod = pod('billing-1', { [APP]: 'billing', tier: 'x' });

describe('selectorsOverlap (matchLabels)', () => {
  it.each([
    [{ [APP]: 'a' }, { [APP]: 'b' }, false], // one key, two values: no pod carries both
    [{ [APP]: 'a' }, { [APP]: 'a', tier: 'web' }, true], // subset
    [{ team: 'billing' }, { [APP]: 'api' }, true], // disjoint keys: a pod may carry both
    [{ team: 'a', tier: 'web' }, { team: 'a', tier: 'api' }, false],
    [{}, { [APP]: 'a' }, true],
  ])('%j and %j: %s', (a, b, expected) => {
    expect(selectorsOverlap(a, b)).toBe(expected);
    expect(selectorsOverlap(b, a)).toBe(expected);
  });
});

describe('serviceSelects and isLivePod', () => {
  it('an empty or absent Service selector selects nothing', () => {
    expect(serviceSelects({}, { a: 'b' })).toBe(false);
    expect(serviceSelects(undefined, { a: 'b' })).toBe(false);
    expect(serviceSelects({ a: 'b' }, { a: 'b', c: 'd' })).toBe(true);
    expect(serviceSelects({ a: 'b', c: 'e' }, { a: 'b', c: 'd' })).toBe(false);
  });

  it('matches labels the object holds, never one it inherits', () => {
    expect(labelsMatch({}, {})).toBe(true);
    expect(labelsMatch({ toString: 'x' }, {})).toBe(false);
    expect(labelsMatch({ a: 'b' }, { a: 'c' })).toBe(false);
    expect(serviceSelects({ constructor: 'x' }, {})).toBe(false);
    expect(serviceSelects({ a: '' }, { a: '' })).toBe(true);
  });

  it('finished and terminating pods are not live; pending ones are', () => {
    expect(isLivePod(pod('p', {}, { status: { phase: 'Pending' } }))).toBe(true);
    expect(isLivePod(pod('p', {}, { status: { phase: 'Succeeded' } }))).toBe(false);
    expect(isLivePod(pod('p', {}, { status: { phase: 'Failed' } }))).toBe(false);
    const gone = pod('p', {});
    gone.metadata!.deletionTimestamp = new Date();
    expect(isLivePod(gone)).toBe(false);
  });
});

describe('internalAppSelected', () => {
  it('selector-level: a selector on all of the app labels, with no live pod', () => {
    expect(internalAppSelected({ [APP]: 'billing' }, [billing], [])).toEqual({ app: billing });
  });

  it("live: a second label billing's pods carry, naming the pod", () => {
    expect(internalAppSelected({ tier: 'x' }, [billing], [billingPod])).toEqual({
      app: billing,
      pod: 'billing-1',
    });
  });

  it('nothing when no live pod of the app carries the label, or the pod finished', () => {
    expect(internalAppSelected({ tier: 'x' }, [billing], [pod('other', { tier: 'x' })])).toBeUndefined();
    const done = pod('billing-1', billingPod.metadata!.labels!, { status: { phase: 'Succeeded' } });
    expect(internalAppSelected({ tier: 'x' }, [billing], [done])).toBeUndefined();
    expect(internalAppSelected({}, [billing], [billingPod])).toBeUndefined();
  });
});

describe('appSelectorConflicts', () => {
  it('none between default selectors of different Apps', () => {
    expect(appSelectorConflicts(www, [billing, www], [billingPod])).toEqual([]);
  });

  it("an external App may not select an internal App's pods (attack 4), naming the live pod", () => {
    const evil = app('acme', 'evil', { selector: { matchLabels: { tier: 'x' } } });
    const errors = appSelectorConflicts(evil, [billing, www, evil], [billingPod]);
    expect(errors).toHaveLength(2); // overlaps billing (live) and www (could)
    expect(errors[0]).toEqual({
      field: 'spec.selector.matchLabels',
      message:
        `{tier=x} can select the same pods as App "billing"'s {${APP}=billing} (pod "billing-1" matches ` +
        'both now): the external App "evil" would get a LoadBalancer for pods of the internally routed App ' +
        '"billing"; give both selectors a common label key with different values, for example the default ' +
        'privatespaces.dev/app=<app name>',
    });
  });

  it('selectors that merely could overlap are refused too (pods not created yet)', () => {
    const a = app('acme', 'a', { selector: { matchLabels: { team: 'x' } } });
    const b = app('acme', 'b', { selector: { matchLabels: { tier: 'web' } } });
    expect(appSelectorConflicts(a, [a, b], [])).toHaveLength(1);
    expect(appSelectorConflicts(a, [a, b], [])[0]?.message).not.toContain('matches both now');
  });

  it('ignores itself and Apps of other namespaces; a differing value separates', () => {
    const same = app('acme', 'billing', { internalRouting: true });
    const elsewhere = app('beta', 'x', { selector: { matchLabels: { [APP]: 'billing' } } });
    const web = app('acme', 'w', { selector: { matchLabels: { team: 'b', tier: 'web' } } });
    const api = app('acme', 'a', { selector: { matchLabels: { team: 'b', tier: 'api' } } });
    expect(appSelectorConflicts(same, [billing, elsewhere], [])).toEqual([]);
    expect(appSelectorConflicts(web, [web, api], [])).toEqual([]);
  });
});

describe('appHostPodErrors', () => {
  it('names the live pods of the App with host networking or a hostPort', () => {
    const host = pod('billing-h', { [APP]: 'billing' }, { spec: { ...spec, hostNetwork: true } });
    const port = pod(
      'billing-p',
      { [APP]: 'billing' },
      {
        spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 8080 }] }] },
      },
    );
    const errors = appHostPodErrors(billing, [billingPod, host, port, pod('x', {}, { spec: host.spec })]);
    expect(errors.map((e) => e.message)).toEqual([
      `{${APP}=billing} selects pod "billing-h", which runs with spec.hostNetwork: true: it answers on its ` +
        "node's address, outside NetworkPolicy; select pods without host access",
      expect.stringContaining('"billing-p", which runs with spec.containers[0].ports[0].hostPort: 8080'),
    ]);
    expect(appPods(billing, [billingPod, host, port])).toHaveLength(3);
  });
});

describe('process types take part in the overlap rules', () => {
  const PROC = 'privatespaces.dev/process';
  const jobs = app('acme', 'jobs', {
    internalRouting: true,
    processes: [{ name: 'web' }, { name: 'worker', selector: { matchLabels: { role: 'worker' } } }],
  });

  it("refuses an App's process whose selector can pick another App's process pods, naming the process's field", () => {
    const thief = app('acme', 'thief', {
      processes: [{ name: 'web' }, { name: 'cron', selector: { matchLabels: { role: 'worker' } } }],
    });
    const errors = appSelectorConflicts(thief, [jobs], [pod('jobs-worker-1', { role: 'worker' })]);
    // Also thief's web: {app: thief, process: web} and {role: worker} share no key, so one pod may carry both.
    expect(errors.map((e) => e.field)).toEqual([
      'spec.processes[0].selector.matchLabels',
      'spec.processes[1].selector.matchLabels',
    ]);
    expect(errors.slice(1)).toEqual([
      expect.objectContaining({
        field: 'spec.processes[1].selector.matchLabels',
        message: expect.stringMatching(
          /\(process cron\).*App "jobs".*\(process worker\).*pod "jobs-worker-1"/,
        ) as string,
      }),
    ]);
  });

  it("an older-form App's selector may not capture another App's worker pods either", () => {
    const legacy = app('acme', 'legacy', { selector: { matchLabels: { role: 'worker' } } });
    expect(appSelectorConflicts(legacy, [jobs], []).map((e) => e.field)).toEqual([
      'spec.selector.matchLabels',
    ]);
  });

  it("a Service selecting an internal App's worker pods selects that App", () => {
    expect(internalAppSelected({ role: 'worker' }, [jobs], [])?.app.metadata.name).toBe('jobs');
    expect(internalAppSelected({ [APP]: 'jobs', [PROC]: 'web' }, [jobs], [])?.app.metadata.name).toBe('jobs');
    expect(internalAppSelected({ [APP]: 'other' }, [jobs], [])).toBeUndefined();
  });

  it('default selectors of two processes of different Apps never overlap', () => {
    const a = app('acme', 'a', { processes: [{ name: 'web' }, { name: 'worker' }] });
    const b = app('acme', 'b', { processes: [{ name: 'web' }, { name: 'worker' }] });
    expect(appSelectorConflicts(a, [b], [])).toEqual([]);
    expect(
      appPods(a, [
        pod('a-worker-1', { [APP]: 'a', [PROC]: 'worker' }),
        pod('b-1', { [APP]: 'b', [PROC]: 'worker' }),
      ]).map((p) => p.metadata?.name),
    ).toEqual(['a-worker-1']);
  });
});
