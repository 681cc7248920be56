// Label keys and values the operator writes and selects on (docs/ARCHITECTURE.md "Labels").

export const LABEL_PREFIX = 'privatespaces.dev';
/** On a Space's namespace and on every child: the Space's name. */
export const SPACE_LABEL = 'privatespaces.dev/space';
/** On an App's children, and (by default) on its pods: the App's name. */
export const APP_LABEL = 'privatespaces.dev/app';
/** On an App's pods: the process type (web, worker, ...). */
export const PROCESS_LABEL = 'privatespaces.dev/process';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'spaces-operator';
/** Set by the apiserver on every namespace; no tenant can forge it, so policies select a Space by it. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** Server-side apply field manager of the operator. */
export const FIELD_MANAGER = 'spaces-operator';
/** The process type whose pods the App's Service fronts. */
export const WEB_PROCESS = 'web';

/** A copy of `labels` with its keys in sorted order (deterministic output). */
export function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) out[key] = labels[key] as string;
  return out;
}

/** The labels on every object the operator makes for a Space (and, with `app`, for an App). */
export function managedLabels(space: string, app?: string): Record<string, string> {
  return sortedLabels({
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [SPACE_LABEL]: space,
    ...(app === undefined ? {} : { [APP_LABEL]: app }),
  });
}
