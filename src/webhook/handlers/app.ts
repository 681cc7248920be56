// App: the model's validateApp with the Space of the App's namespace, so the webhook refuses with
// exactly the reconciler's words: no Space for the namespace (metadata.namespace), Internal
// Routing in a fir Space or with ACM, and, on update, spec.internalRouting changed either way.
//
// Then the selectors (spec.selector.matchLabels, or each spec.processes[i].selector: every process
// takes part), on create and on every update that changes one,
// judged against the live namespace:
// - it may not overlap another App's selector either way (appSelectorConflicts): in particular an
//   external App never selects an internal App's pods (its LoadBalancer would expose them);
// - it may not pick live pods with host networking or a hostPort;
// - for an internal App: no existing NetworkPolicy may open the pods it selects beyond the Space and
//   its active peerings, and no exposing Service (NodePort, LoadBalancer, externalIPs) may select them.
import type { V1NetworkPolicy, V1Pod, V1Service } from '@kubernetes/client-node';
import type { App } from '../../api/v1alpha1/index.ts';
import {
  appSelector,
  DEFAULT_SETTINGS,
  isInternal,
  validateApp,
  type FieldError,
  type PlatformSettings,
} from '../../model/index.ts';
import { guardNetworkPolicy } from '../../reach/guards.ts';
import { tlsSpecErrors } from '../../tls/validate.ts';
import { denyFieldErrors } from '../errors.ts';
import type { KindHandler, Lookup } from '../types.ts';
import { guardContext, jsonEqual, namespaceView, specUnchanged, type NamespaceView } from './context.ts';
import {
  appHostPodErrors,
  appSelectorConflicts,
  appSelectors,
  formatLabels,
  internalAppSelected,
  SELECTOR_FIELD,
} from './selection.ts';
import { exposure } from './service.ts';

export function appHandler(lookup: Lookup, settings: PlatformSettings = DEFAULT_SETTINGS): KindHandler<App> {
  const check = async (object: App, old?: App): Promise<FieldError[]> => {
    const ns = object.metadata.namespace ?? '';
    const space = await lookup.space(ns);
    const errors = [...validateApp(object, space, old, settings), ...tlsSpecErrors(object)];
    if (!space || (old && jsonEqual(appSelectors(object), appSelectors(old)))) return errors;
    return [...errors, ...(await selectorErrors(lookup, object))];
  };
  return {
    async onCreate({ object }) {
      return denyFieldErrors('App', object, await check(object));
    },
    async onUpdate({ object, oldObject }) {
      // Metadata-only changes (finalizers, labels) and deletions always go through.
      if (!oldObject || specUnchanged(object, oldObject)) return undefined;
      return denyFieldErrors('App', object, await check(object, oldObject));
    },
  };
}

/** Everything wrong with where `app`'s selector lands in its namespace as it is now. */
export async function selectorErrors(lookup: Lookup, app: App): Promise<FieldError[]> {
  const ns = app.metadata.namespace ?? '';
  const [view, pods] = await Promise.all([namespaceView(lookup, ns), lookup.podsIn(ns)]);
  const errors = [...appSelectorConflicts(app, view.apps, pods), ...appHostPodErrors(app, pods)];
  if (!isInternal(app)) return errors;
  const [policies, services] = await Promise.all([lookup.networkPoliciesIn(ns), lookup.servicesIn(ns)]);
  const open = await openPolicyErrors(lookup, view, app, policies);
  return [...errors, ...open, ...exposingServiceErrors(app, services, pods)];
}

/** Policies of the namespace that would admit sources beyond the Space to the internal App's pods. */
async function openPolicyErrors(
  lookup: Lookup,
  view: NamespaceView,
  app: App,
  policies: readonly V1NetworkPolicy[],
): Promise<FieldError[]> {
  if (policies.length === 0) return [];
  const base = await guardContext(lookup, view, false);
  const ctx = {
    ...base,
    // Every process of an internal App: its workers are as private as its web pods.
    internalApps: appSelectors(app).map((podLabels) => ({ name: app.metadata.name, podLabels })),
    externalApps: [],
  };
  return policies.flatMap((np) => {
    const d = guardNetworkPolicy(np, ctx);
    if (d.allowed) return [];
    return [
      {
        field: SELECTOR_FIELD,
        message:
          `${formatLabels(appSelector(app))} would put the App's pods under a policy that opens them: ` +
          `${d.message}; narrow or delete that NetworkPolicy first`,
      },
    ];
  });
}

/** Exposing Services of the namespace that select the internal App's pods (selector-level or live). */
function exposingServiceErrors(
  app: App,
  services: readonly V1Service[],
  pods: readonly V1Pod[],
): FieldError[] {
  return services.flatMap((svc) => {
    const how = exposure(svc);
    if (!how || !svc.spec?.selector) return [];
    const hit = internalAppSelected(svc.spec.selector, [app], pods);
    if (!hit) return [];
    const live = hit.pod === undefined ? '' : ` (pod "${hit.pod}")`;
    return [
      {
        field: SELECTOR_FIELD,
        message:
          `${formatLabels(appSelector(app))} selects pods${live} that ${how.what} "${svc.metadata?.name ?? ''}" ` +
          `(selector ${formatLabels(svc.spec.selector)}) exposes outside the Space; an internally routed App's ` +
          'pods must not be exposed: make that Service type ClusterIP without externalIPs first',
      },
    ];
  });
}
