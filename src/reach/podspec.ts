// Where the pod template sits in each workload kind, so a guard can read the labels and spec its pods
// will carry.
import type { V1ObjectMeta, V1PodSpec } from '@kubernetes/client-node';
import type { Labels } from './types.ts';

/** Path from `spec` to the pod template, per kind; `[]` for a Pod (its own spec). */
const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['template'],
  StatefulSet: ['template'],
  DaemonSet: ['template'],
  ReplicaSet: ['template'],
  ReplicationController: ['template'],
  Job: ['template'],
  CronJob: ['jobTemplate', 'spec', 'template'],
};

export type PodTemplate = {
  /** Labels the pods will carry. */
  labels: Labels;
  spec: V1PodSpec;
  /** Path of the pod spec in the object, for messages: `spec`, `spec.template.spec`, … */
  field: string;
};

export type WorkloadObject = { kind?: string; metadata?: V1ObjectMeta; spec?: unknown };

/** The field path of the pod spec in an object of `kind` (undefined for kinds that run no pods). */
export function podSpecField(kind: string): string | undefined {
  const path = TEMPLATE_PATHS[kind];
  if (path === undefined) return undefined;
  return path.length === 0 ? 'spec' : ['spec', ...path, 'spec'].join('.');
}

function child(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The pod template of a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job
 * or CronJob; undefined for other kinds or an object without one. */
export function podSpecOf(obj: WorkloadObject): PodTemplate | undefined {
  const kind = obj.kind ?? '';
  const path = TEMPLATE_PATHS[kind];
  const field = podSpecField(kind);
  if (path === undefined || field === undefined) return undefined;
  if (path.length === 0) {
    if (typeof obj.spec !== 'object' || obj.spec === null) return undefined;
    return { labels: obj.metadata?.labels ?? {}, spec: obj.spec as V1PodSpec, field };
  }
  const template = path.reduce<unknown>(child, obj.spec);
  const spec = child(template, 'spec');
  if (typeof spec !== 'object' || spec === null) return undefined;
  const labels = child(child(template, 'metadata'), 'labels') as Labels | undefined;
  return { labels: labels ?? {}, spec: spec as V1PodSpec, field };
}
