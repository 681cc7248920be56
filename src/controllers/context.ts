// What every controller is given: the shared caches (informers.ts), the platform's settings and
// the engine's writers. Controllers read only from these caches; the only API calls a reconcile
// makes are the writes the Applier and StatusWriter decide are needed.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { App } from '../api/v1alpha1/index.ts';
import type { Applier, Condition, EventRecorder, Logger, StatusWriter } from '../engine/index.ts';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../model/labels.ts';
import type { PlatformSettings } from '../model/settings.ts';
import type { Informers } from './informers.ts';

export type { Informers } from './informers.ts';

/** What the DNS controller answers for one App (`namespace/name`): the names it publishes and refuses. */
export interface DnsNames {
  published: string[];
  /** `reason`: what is wrong and what to do; `code`: the condition reason (NameConflict, NotAllowed, OverBudget). */
  refused: { name: string; reason: string; code?: string }[];
}

/**
 * What the TLS controller last judged of an App's certificate (src/controllers/tls/): the App
 * reconciler writes it into the App's status (status.tls and the Certificate condition), so the
 * status has one writer and a new App one status write.
 */
export interface TlsReport {
  /** The App it was judged for: a report of an App deleted and created again under its name is not its. */
  uid: string | undefined;
  /** The App generation it was judged for (the condition's observedGeneration). */
  generation: number | undefined;
  tls: NonNullable<NonNullable<App['status']>['tls']>;
  condition: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
}

export interface Ctx {
  informers: Informers;
  /**
   * The names the DNS controller publishes for an App, and those it refuses with why; undefined
   * (or absent, DNS disabled) until it has rendered the App.
   */
  dnsNames?: ((key: string) => DnsNames | undefined) | undefined;
  /**
   * The TLS controller's report for an App (`namespace/name`), once a judgement of it that is
   * queued or running has ended; undefined (or absent, no TLS controller) when it has nothing to
   * report (no certificate asked for, never reported).
   */
  tlsReport?: ((key: string) => Promise<TlsReport | undefined>) | undefined;
  /** Cluster-wide settings of the platform admin. */
  settings: PlatformSettings;
  applier: Applier;
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
}

export const keyOf = (obj: KubernetesObject): string =>
  obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata?.name ?? '');

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Whether the operator wrote `o` (its managed-by label). */
export const managed = (o: KubernetesObject): boolean =>
  o.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
