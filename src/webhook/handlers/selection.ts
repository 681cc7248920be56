// Which pods a selector really picks: the pure rules behind "selects an internal app's pods" (Services,
// Ingress and route backends, ExternalName) and "this App's selector overlaps another's" (App admission,
// and the App reconciler for its own writes, which skip the webhook). Judged twice: on the selectors
// themselves, for pods that do not exist yet, and on the live pods of the namespace, with their real
// labels. No I/O: callers pass the namespace's Apps and pods.
import type { V1Pod } from '@kubernetes/client-node';
import type { App } from '../../api/v1alpha1/index.ts';
import {
  appProcesses,
  appSelector,
  isInternal,
  type AppProcess,
  type FieldError,
} from '../../model/index.ts';
import { hostAccess } from '../../reach/podspec.ts';
import { labelsMatch, serviceSelects } from '../../reach/selector.ts';
import type { Labels } from '../../reach/types.ts';

export { labelsMatch, serviceSelects };

/** The field every App selector error names (older form; a process's is spec.processes[i].selector.matchLabels). */
export const SELECTOR_FIELD = 'spec.selector.matchLabels';

/** Every process's selector: with process types, all of them take part in the overlap rules. */
export function appSelectors(app: App): Record<string, string>[] {
  return appProcesses(app).map((p) => p.selector);
}

/** A pod that runs or will run: not finished (Succeeded, Failed) and not being deleted. */
export function isLivePod(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

export function podLabels(pod: V1Pod): Labels {
  return pod.metadata?.labels ?? {};
}

/**
 * Selector-level: whether a Service selector picks an app's pods whatever labels they carry besides the
 * app's: every selector label is among the app's (all of its pods), or it pins every label of the app and
 * adds others (the subset that also carries them, which the tenant controls). An empty or absent selector
 * selects nothing.
 */
export function selectsAppPods(selector: Labels | undefined, appLabels: Labels): boolean {
  const s = Object.entries(selector ?? {});
  if (s.length === 0) return false;
  const inApp = s.every(([k, v]) => appLabels[k] === v);
  const pinsApp = Object.entries(appLabels).every(([k, v]) => selector?.[k] === v);
  return inApp || pinsApp;
}

/**
 * Whether two matchLabels selectors can both match one pod: always, unless some key is in both with
 * different values (a pod carries one value per key). Exact for matchLabels, which is all an App has.
 */
export function selectorsOverlap(a: Labels, b: Labels): boolean {
  return Object.entries(a).every(([k, v]) => !Object.hasOwn(b, k) || b[k] === v);
}

/** An internal App whose pods a selector picks, and the live pod that proves it (none: selector-level). */
export type InternalSelection = { app: App; pod?: string };

/**
 * The first internal App whose pods a Service selector picks: by the selector-level rule
 * ({@link selectsAppPods}), or because it matches a live pod the App's selector matches (a NodePort on a
 * second label billing's pods carry).
 */
export function internalAppSelected(
  selector: Labels | undefined,
  internal: readonly App[],
  pods: readonly V1Pod[],
): InternalSelection | undefined {
  const byRule = internal.find((a) => appSelectors(a).some((sel) => selectsAppPods(selector, sel)));
  if (byRule) return { app: byRule };
  for (const pod of pods) {
    if (!isLivePod(pod) || !serviceSelects(selector, podLabels(pod))) continue;
    const app = internal.find((a) => appSelectors(a).some((sel) => labelsMatch(sel, podLabels(pod))));
    if (app) return { app, pod: pod.metadata?.name ?? '' };
  }
  return undefined;
}

/** The live pods (of the App's namespace) the selector of any of its processes matches. */
export function appPods(app: App, pods: readonly V1Pod[]): V1Pod[] {
  const selectors = appSelectors(app);
  return pods.filter((p) => isLivePod(p) && selectors.some((sel) => labelsMatch(sel, podLabels(p))));
}

export function formatLabels(labels: Labels): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')}}`;
}

export const selectionErrors = {
  overlap: (
    app: App,
    other: App,
    pod: string | undefined,
    mine: AppProcess = processOf(app),
    theirs: AppProcess = processOf(other),
  ): FieldError => {
    // Only a web process gets a LoadBalancer (external App); the others get the Space alone.
    const web = mine.name === 'web' || theirs.name === 'web';
    const kinds = isInternal(app) === isInternal(other) || !web ? '' : internalPairNote(app, other);
    const live = pod === undefined ? '' : ` (pod "${pod}" matches both now)`;
    return {
      field: mine.field,
      message:
        `${formatLabels(mine.selector)}${processNote(mine)} can select the same pods as App ` +
        `"${other.metadata.name}"'s ${formatLabels(theirs.selector)}${processNote(theirs)}${live}${kinds}; give ` +
        'both selectors a common label key with different values, for example the default ' +
        'privatespaces.dev/app=<app name>',
    };
  },
  hostPods: (app: App, pod: string, offence: string): FieldError => ({
    field: SELECTOR_FIELD,
    message:
      `${formatLabels(appSelector(app))} selects pod "${pod}", which runs with ${offence}: it answers on its ` +
      "node's address, outside NetworkPolicy; select pods without host access",
  }),
  exposing: (field: string, what: string, hit: InternalSelection): FieldError => ({
    field,
    message:
      `${what} must not select the pods of the internally routed App "${hit.app.metadata.name}"` +
      `${hit.pod === undefined ? '' : ` (it selects its pod "${hit.pod}")`}, which accepts traffic only ` +
      'from its Space and peered networks; use type ClusterIP without externalIPs',
  }),
};

const processOf = (app: App): AppProcess => appProcesses(app)[0] as AppProcess;

const processNote = (p: AppProcess): string =>
  p.field.startsWith('spec.processes') ? ` (process ${p.name})` : '';

function internalPairNote(app: App, other: App): string {
  const [external, internal] = isInternal(app) ? [other, app] : [app, other];
  return (
    `: the external App "${external.metadata.name}" would get a LoadBalancer for pods of the internally ` +
    `routed App "${internal.metadata.name}"`
  );
}

/**
 * Why `app`'s selector may not be admitted next to the other Apps of its namespace: it could select the
 * same pods as another App (either way; for matchLabels selectors that is "no key with different
 * values"), naming a live pod that both match when there is one. In particular an external App can
 * never select an internal App's pods (its LoadBalancer would expose them). The App reconciler reuses
 * this for its own writes.
 */
export function appSelectorConflicts(app: App, apps: readonly App[], pods: readonly V1Pod[]): FieldError[] {
  const ns = app.metadata.namespace;
  const others = apps.filter((o) => o.metadata.name !== app.metadata.name && o.metadata.namespace === ns);
  const live = pods.filter(isLivePod);
  return appProcesses(app).flatMap((mine) =>
    others.flatMap((o) => {
      // Of the other App's processes this one overlaps, name one a live pod proves, if any.
      const overlapping = appProcesses(o).filter((t) => selectorsOverlap(mine.selector, t.selector));
      const proven = overlapping
        .map((theirs) => ({
          theirs,
          pod: live.find(
            (p) => labelsMatch(mine.selector, podLabels(p)) && labelsMatch(theirs.selector, podLabels(p)),
          ),
        }))
        .find((x) => x.pod !== undefined);
      const hit = proven ?? (overlapping[0] ? { theirs: overlapping[0], pod: undefined } : undefined);
      if (!hit) return [];
      return [selectionErrors.overlap(app, o, hit.pod?.metadata?.name, mine, hit.theirs)];
    }),
  );
}

/** One error per live pod the App's selector matches that uses host networking or a hostPort. */
export function appHostPodErrors(app: App, pods: readonly V1Pod[]): FieldError[] {
  return appPods(app, pods).flatMap((p) => {
    const offence = hostAccess(p.spec, 'spec');
    return offence === undefined ? [] : [selectionErrors.hostPods(app, p.metadata?.name ?? '', offence)];
  });
}
