// Service: refuse one that would expose an internal app's pods outside the Space. Exposing means
// type NodePort or LoadBalancer, or externalIPs; such a Service is refused when its selector
// selects an internal app's pods, by the selector-level rule or through a live pod of the
// namespace that both its selector and the app's match (see selection.ts). An ExternalName Service
// is refused when it points at an internal app: its Service's DNS name, any Service of its
// namespace that selects its pods, or one of its domains. The operator's own LoadBalancer for an
// external app selects only that app's pods and passes.
import type { V1Service } from '@kubernetes/client-node';
import { appDnsNames } from '../../model/index.ts';
import { denyFieldErrors, fieldErrors, type FieldError } from '../errors.ts';
import type { Decision, KindHandler, KubeObject, Lookup } from '../types.ts';
import { internalAppBehind } from './backends.ts';
import { namespaceView } from './context.ts';
import { guarded } from './guarded.ts';
import { internalAppSelected, selectionErrors } from './selection.ts';

export type ServiceObject = V1Service & KubeObject;

/** The field that makes a Service reachable from outside the cluster, with words for messages. */
export function exposure(svc: V1Service): { field: string; what: string } | undefined {
  const type = svc.spec?.type ?? 'ClusterIP';
  if (type === 'NodePort' || type === 'LoadBalancer')
    return { field: 'spec.type', what: `a ${type} Service` };
  if ((svc.spec?.externalIPs ?? []).length > 0)
    return { field: 'spec.externalIPs', what: 'a Service with externalIPs' };
  return undefined;
}

async function exposingErrors(lookup: Lookup, svc: ServiceObject): Promise<FieldError[]> {
  const how = exposure(svc);
  if (!how) return [];
  const ns = svc.metadata?.namespace ?? '';
  const view = await namespaceView(lookup, ns);
  if (view.internal.length === 0 || !svc.spec?.selector) return [];
  const hit = internalAppSelected(svc.spec.selector, view.internal, await lookup.podsIn(ns));
  return hit ? [selectionErrors.exposing(how.field, how.what, hit)] : [];
}

/** `name.ns`, `name.ns.svc`, `name.ns.svc.<cluster domain>` → {name, namespace}. */
export function parseServiceDns(host: string): { name: string; namespace: string } | undefined {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\..+)?)?$/.exec(host);
  return m ? { name: m[1] ?? '', namespace: m[2] ?? '' } : undefined;
}

/** The internal App whose Service `target` names (`svc.ns`, `svc.ns.svc…`), if any. */
async function internalAppByServiceDns(lookup: Lookup, target: string): Promise<string | undefined> {
  const ref = parseServiceDns(target);
  if (!ref) return undefined;
  const hit = await internalAppBehind(lookup, await namespaceView(lookup, ref.namespace), ref.name);
  return hit?.app.metadata.name;
}

/** The internal App, in any Space, one of whose DNS names (`appDnsNames`) is `target`, if any. */
async function internalAppByDnsName(lookup: Lookup, target: string): Promise<string | undefined> {
  for (const ns of await lookup.namespaces()) {
    const view = await namespaceView(lookup, ns.metadata?.name ?? '');
    const space = view.space;
    if (!space) continue;
    const app = view.internal.find((a) => appDnsNames(a, space).includes(target));
    if (app) return app.metadata.name;
  }
  return undefined;
}

async function externalNameErrors(lookup: Lookup, svc: ServiceObject): Promise<FieldError[]> {
  if (svc.spec?.type !== 'ExternalName' || !svc.spec.externalName) return [];
  const target = svc.spec.externalName.toLowerCase().replace(/\.$/, '');
  const app = (await internalAppByServiceDns(lookup, target)) ?? (await internalAppByDnsName(lookup, target));
  return app ? [fieldErrors.externalNameToInternal(target, app)] : [];
}

export async function checkService(lookup: Lookup, svc: ServiceObject): Promise<Decision | undefined> {
  const errors = [...(await exposingErrors(lookup, svc)), ...(await externalNameErrors(lookup, svc))];
  return denyFieldErrors('Service', svc, errors);
}

export function serviceHandler(lookup: Lookup): KindHandler<ServiceObject> {
  return guarded((svc) => checkService(lookup, svc));
}
