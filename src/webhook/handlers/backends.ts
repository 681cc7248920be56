// "Is this backend an internal app's Service?", shared by Ingress, the Gateway API routes and
// ExternalName Services: the Service the operator renders for an internal app, or any Service of the
// namespace (a tenant's own ClusterIP one included) whose selector selects an internal app's pods,
// by the selector-level rule or through a live pod both match (see selection.ts).
import type { V1Service } from '@kubernetes/client-node';
import { fieldErrors, type FieldError } from '../errors.ts';
import type { Lookup } from '../types.ts';
import { internalServices, namespaceView, type NamespaceView } from './context.ts';
import { internalAppSelected, type InternalSelection } from './selection.ts';

export interface BackendRef {
  /** Path of the name field, e.g. spec.rules[0].http.paths[1].backend.service.name. */
  field: string;
  namespace: string;
  name: string;
}

/** One field error per backend that leads to an internal app. Views are read once per namespace. */
export async function internalBackendErrors(
  lookup: Lookup,
  refs: BackendRef[],
  from: string,
): Promise<FieldError[]> {
  const views = new Map<string, Promise<NamespaceView>>();
  const view = (ns: string): Promise<NamespaceView> => {
    let v = views.get(ns);
    if (!v) views.set(ns, (v = namespaceView(lookup, ns)));
    return v;
  };
  const errors: FieldError[] = [];
  for (const ref of refs) {
    const hit = await internalAppBehind(lookup, await view(ref.namespace), ref.name);
    const shown = ref.namespace === from ? ref.name : `${ref.namespace}/${ref.name}`;
    if (hit) errors.push(backendError(ref.field, shown, hit));
  }
  return errors;
}

function backendError(field: string, shown: string, hit: InternalSelection): FieldError {
  const e = fieldErrors.internalBackend(field, shown, hit.app.metadata.name);
  if (hit.pod === undefined) return e;
  return { field, message: `${e.message} (it selects the App's pod "${hit.pod}")` };
}

async function findService(lookup: Lookup, ns: string, name: string): Promise<V1Service | undefined> {
  if (lookup.service) return lookup.service(ns, name);
  return (await lookup.servicesIn(ns)).find((s) => s.metadata?.name === name);
}

/**
 * The internal App behind Service `service` of the view's namespace: the one the operator renders for
 * it, or, for any other Service there, the internal App whose pods its selector selects. A backend need
 * not be exposing to matter: a ClusterIP Service selecting the app's pods is enough.
 */
export async function internalAppBehind(
  lookup: Lookup,
  view: NamespaceView,
  service: string,
): Promise<InternalSelection | undefined> {
  if (view.internal.length === 0) return undefined;
  const rendered = internalServices(view).get(service);
  if (rendered) return { app: rendered };
  const svc = await findService(lookup, view.namespace, service);
  if (!svc?.spec?.selector) return undefined;
  return internalAppSelected(svc.spec.selector, view.internal, await lookup.podsIn(view.namespace));
}
