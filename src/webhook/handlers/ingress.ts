// Ingress (networking.k8s.io/v1): refuse one whose default backend or any path's backend is an
// internal app's Service, naming spec.rules[i].http.paths[j].backend.service.name.
import type { V1Ingress } from '@kubernetes/client-node';
import { denyFieldErrors } from '../errors.ts';
import type { Decision, KindHandler, KubeObject, Lookup } from '../types.ts';
import { internalBackendErrors, type BackendRef } from './backends.ts';
import { guarded } from './guarded.ts';

export type IngressObject = V1Ingress & KubeObject;

export function ingressBackends(ing: V1Ingress): BackendRef[] {
  const namespace = ing.metadata?.namespace ?? '';
  const refs: BackendRef[] = [];
  const def = ing.spec?.defaultBackend?.service?.name;
  if (def) refs.push({ field: 'spec.defaultBackend.service.name', namespace, name: def });
  (ing.spec?.rules ?? []).forEach((rule, i) =>
    (rule.http?.paths ?? []).forEach((p, j) => {
      const name = p.backend?.service?.name;
      if (name)
        refs.push({ field: `spec.rules[${i}].http.paths[${j}].backend.service.name`, namespace, name });
    }),
  );
  return refs;
}

export async function checkIngress(lookup: Lookup, ing: IngressObject): Promise<Decision | undefined> {
  const ns = ing.metadata?.namespace ?? '';
  return denyFieldErrors('Ingress', ing, await internalBackendErrors(lookup, ingressBackends(ing), ns));
}

export function ingressHandler(lookup: Lookup): KindHandler<IngressObject> {
  return guarded((ing) => checkIngress(lookup, ing));
}
