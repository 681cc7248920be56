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
  const found = path.length === 0 ? ownPodSpec(obj) : templatePodSpec(path.reduce<unknown>(child, obj.spec));
  return found && { ...found, field };
}

/** A Pod's own spec and labels. */
function ownPodSpec(obj: WorkloadObject): Omit<PodTemplate, 'field'> | undefined {
  if (typeof obj.spec !== 'object' || obj.spec === null) return undefined;
  return { labels: obj.metadata?.labels ?? {}, spec: obj.spec as V1PodSpec };
}

/** A pod template's spec and labels. */
function templatePodSpec(template: unknown): Omit<PodTemplate, 'field'> | undefined {
  const spec = child(template, 'spec');
  if (typeof spec !== 'object' || spec === null) return undefined;
  const labels = child(child(template, 'metadata'), 'labels') as Labels | undefined;
  return { labels: labels ?? {}, spec: spec as V1PodSpec };
}

/** The labels path beside a pod spec path: `spec` → `metadata.labels`, `spec.template.spec` → `spec.template.metadata.labels`. */
export function podLabelsField(specField: string): string {
  return specField === 'spec' ? 'metadata.labels' : `${specField.slice(0, -'.spec'.length)}.metadata.labels`;
}

/**
 * The first way a pod spec reaches into its node, as `<path>.hostNetwork: true`,
 * `<path>.hostPID: true`, `<path>.hostIPC: true` or `<path>.containers[0].ports[1].hostPort: 80` (init
 * containers too); undefined when it has none. `path` is where the spec sits (see `podSpecField`).
 *
 * Ephemeral containers (`pods/ephemeralcontainers`) add nothing here: host namespaces are pod-level fields
 * they cannot set, and the apiserver forbids `ports` on an ephemeral container, so no hostPort either.
 */
export function hostAccess(podSpec: V1PodSpec | undefined, path: string): string | undefined {
  if (!podSpec) return undefined;
  for (const flag of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (podSpec[flag] === true) return `${path}.${flag}: true`;
  }
  return hostPortField(podSpec, path);
}

/** The first container or init container port with a hostPort, as `<path>.containers[0].ports[1].hostPort: 80`. */
function hostPortField(podSpec: V1PodSpec, path: string): string | undefined {
  const groups = [
    ['containers', podSpec.containers ?? []],
    ['initContainers', podSpec.initContainers ?? []],
  ] as const;
  for (const [group, containers] of groups) {
    for (const [i, c] of containers.entries()) {
      const j = (c.ports ?? []).findIndex(
        (p) => p.hostPort !== undefined && p.hostPort !== null && p.hostPort !== 0,
      );
      if (j >= 0) return `${path}.${group}[${i}].ports[${j}].hostPort: ${c.ports?.[j]?.hostPort}`;
    }
  }
  return undefined;
}
