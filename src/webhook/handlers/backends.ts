// "Is this backend an internal app's Service?", shared by Ingress and the Gateway API routes: the
// Service the operator renders for an internal app, or (when the Lookup can read Services) any
// Service whose selector selects an internal app's pods.
import { fieldErrors, type FieldError } from '../errors.ts';
import type { Lookup } from '../types.ts';
import {
  appPodLabels,
  internalServices,
  namespaceView,
  selectsAppPods,
  type NamespaceView,
} from './context.ts';

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
    const app = await internalAppBehind(lookup, await view(ref.namespace), ref.name);
    const shown = ref.namespace === from ? ref.name : `${ref.namespace}/${ref.name}`;
    if (app) errors.push(fieldErrors.internalBackend(ref.field, shown, app));
  }
  return errors;
}

async function internalAppBehind(
  lookup: Lookup,
  view: NamespaceView,
  service: string,
): Promise<string | undefined> {
  if (view.internal.length === 0) return undefined;
  const rendered = internalServices(view).get(service);
  if (rendered) return rendered.metadata.name;
  const svc = lookup.service ? await lookup.service(view.namespace, service) : undefined;
  // A backend Service need not be exposing to matter: a ClusterIP one selecting the app's pods is enough.
  return view.internal.find((a) => selectsAppPods(svc?.spec?.selector, appPodLabels(a)))?.metadata.name;
}
