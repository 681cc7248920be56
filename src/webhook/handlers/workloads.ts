// Pods and workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob): delegated to
// the reach guard. Refuse pods of an internal app (labels matching its selector) that would use
// hostNetwork or a hostPort, which answer on the node's address, outside NetworkPolicy.
import { guardPodSpec } from '../../reach/guards.ts';
import { podSpecOf } from '../../reach/podspec.ts';
import type { Decision, KindHandler, KubeObject, Lookup } from '../types.ts';
import { appPodLabels, nameOf, namespaceView, spaceRef } from './context.ts';
import { guarded } from './guarded.ts';

export const WORKLOAD_KINDS = {
  '': ['Pod'],
  apps: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'],
  batch: ['Job', 'CronJob'],
} as const;

export async function checkWorkload(
  lookup: Lookup,
  kind: string,
  obj: KubeObject,
): Promise<Decision | undefined> {
  const tpl = podSpecOf({ ...obj, kind } as Parameters<typeof podSpecOf>[0]);
  if (!tpl) return undefined;
  const ns = obj.metadata?.namespace ?? '';
  const view = await namespaceView(lookup, ns);
  if (view.internal.length === 0) return undefined;
  const internalApps = view.internal.map((a) => ({ name: a.metadata.name, podLabels: appPodLabels(a) }));
  const d = guardPodSpec(kind, nameOf(obj), tpl.labels, tpl.spec, {
    space: spaceRef(view.space, ns),
    internalApps,
  });
  return d.allowed ? undefined : d;
}

export function workloadHandler(lookup: Lookup, kind: string): KindHandler<KubeObject> {
  return guarded((obj) => checkWorkload(lookup, kind, obj));
}
