// Pods and workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
// CronJob), in a Space's namespace, judged on their pod template (for a Pod: its real spec, so a
// label UPDATE that moves a running pod under an internal app is judged with the pod as it is):
// - host access (hostNetwork, hostPID, hostIPC, a hostPort) is refused for every pod, whatever its
//   labels (reach guard `guardPodSpec`): such a pod sits outside NetworkPolicy and reaches every app;
// - pods of an internal app (labels matching its selector) may not be selected by an exposing Service
//   (NodePort, LoadBalancer, externalIPs) of the namespace, which closes the order "Service first,
//   then the pod" that the Service's own check cannot see.
// Ephemeral containers go through `pods/ephemeralcontainers`, a subresource this webhook does not
// intercept; they cannot set host namespaces or ports (see `hostAccess`).
import type { V1Service } from '@kubernetes/client-node';
import { appSelector } from '../../model/index.ts';
import { guardPodSpec } from '../../reach/guards.ts';
import { podLabelsField, podSpecOf, type PodTemplate } from '../../reach/podspec.ts';
import type { Labels } from '../../reach/types.ts';
import type { Decision, KindHandler, KubeObject, Lookup } from '../types.ts';
import { appPodLabels, nameOf, namespaceView, spaceRef, type NamespaceView } from './context.ts';
import { guarded } from './guarded.ts';
import { formatLabels, labelsMatch, serviceSelects } from './selection.ts';
import { exposure } from './service.ts';

export const WORKLOAD_KINDS = {
  '': ['Pod', 'ReplicationController'],
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
  if (!view.space) return undefined;
  const internalApps = view.internal.map((a) => ({ name: a.metadata.name, podLabels: appPodLabels(a) }));
  const d = guardPodSpec(kind, nameOf(obj), tpl.labels, tpl.spec, {
    space: spaceRef(view.space, ns),
    internalApps,
  });
  if (!d.allowed) return d;
  return exposedPods(lookup, view, { kind, name: nameOf(obj), tpl });
}

/** The first Service that makes the namespace reachable from outside and selects pods with `labels`. */
function exposingServiceFor(services: readonly V1Service[], labels: Labels): V1Service | undefined {
  return services.find((s) => exposure(s) !== undefined && serviceSelects(s.spec?.selector, labels));
}

async function exposedPods(
  lookup: Lookup,
  view: NamespaceView,
  w: { kind: string; name: string; tpl: PodTemplate },
): Promise<Decision | undefined> {
  const app = view.internal.find((a) => labelsMatch(appSelector(a), w.tpl.labels));
  if (!app) return undefined;
  const svc = exposingServiceFor(await lookup.servicesIn(view.namespace), w.tpl.labels);
  if (!svc) return undefined;
  const how = exposure(svc);
  return {
    allowed: false,
    message:
      `${w.kind} ${view.namespace}/${w.name} is invalid: ${podLabelsField(w.tpl.field)}: pods labelled ` +
      `${formatLabels(w.tpl.labels)} belong to the internally routed App "${app.metadata.name}" and would be ` +
      `selected by ${how?.what ?? 'the Service'} "${svc.metadata?.name ?? ''}" ` +
      `(selector ${formatLabels(svc.spec?.selector ?? {})}), which exposes them outside the Space; ` +
      'change the labels, or make that Service type ClusterIP without externalIPs',
  };
}

export function workloadHandler(lookup: Lookup, kind: string): KindHandler<KubeObject> {
  return guarded((obj) => checkWorkload(lookup, kind, obj));
}
