// App → its Service and NetworkPolicy, and a status that says what a user needs: the
// ClusterIP, the names, ready endpoints, who can reach the app (from every live policy, not only
// ours) and whether an internal app is exposed beyond its Space and peers.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import type { Condition, Reconciler } from '../engine/index.ts';
import { readyConditions, setCondition } from '../engine/index.ts';
import {
  activePeeringCidrs,
  appChildren,
  appDnsNames,
  appSelector,
  appServiceName,
  isInternal,
  sortCidrs,
  validateApp,
} from '../model/index.ts';
import { evaluateIngress, sourceText, summarize, widening, type Widening } from '../reach/index.ts';
import { SERVICE_NAME_LABEL } from '../dns/snapshot.ts';
import { errorText, reportInvalidSpec, type Ctx } from './context.ts';

export function readyEndpointCount(slices: readonly V1EndpointSlice[], service: string): number {
  let n = 0;
  for (const s of slices) {
    if (s.metadata?.labels?.[SERVICE_NAME_LABEL] !== service) continue;
    for (const e of s.endpoints ?? []) if (e.conditions?.ready !== false) n += e.addresses.length > 0 ? 1 : 0;
  }
  return n;
}

/** The App CRD's bounds on status (src/api/v1alpha1/app.ts): a status beyond them is refused whole (422). */
const MAX_REACHABLE_FROM = 256;
const MAX_REACH_FIELD = 1024;
/** Far below the 32768 bytes a condition message may hold; `kubectl describe` stays readable. */
const MAX_MESSAGE = 4096;
const MAX_POLICIES_NAMED = 10;

const clip = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/**
 * reachableFrom within the CRD's bounds: long sources and port lists are clipped, and past 256 entries
 * the ones that widen the app come first, so a status that must be cut still shows the exposure. Left
 * unbounded, one policy with many peers (or `namespaceSelector: {}` in a cluster of many namespaces)
 * made every status write fail, and the App kept reporting its old, contained state.
 */
function boundedReach(
  entries: ReturnType<typeof summarize>,
  widened: readonly Widening[],
): { reachableFrom: ReturnType<typeof summarize>; omitted: number } {
  const clipped = entries.map((e) => ({
    ...e,
    source: clip(e.source, MAX_REACH_FIELD),
    ...(e.ports === undefined ? {} : { ports: clip(e.ports, MAX_REACH_FIELD) }),
  }));
  if (clipped.length <= MAX_REACHABLE_FROM) return { reachableFrom: clipped, omitted: 0 };
  const widens = new Set(widened.map((w) => `${w.policy}\n${sourceText(w.source)}`));
  const isWidening = (i: number): boolean => widens.has(`${entries[i]?.policy}\n${entries[i]?.source}`);
  const order = clipped.map((_, i) => i);
  const first = order.filter(isWidening);
  const rest = order.filter((i) => !isWidening(i));
  const kept = [...first, ...rest].slice(0, MAX_REACHABLE_FROM).sort((a, b) => a - b);
  return {
    reachableFrom: kept.map((i) => clipped[i]!),
    omitted: clipped.length - MAX_REACHABLE_FROM,
  };
}

/**
 * The widening rules in words, one clause per policy (its first widening rule and how many more), as the
 * webhook words its denials; at most ten policies and 4 kB, so the condition always fits its schema.
 */
function exposureMessage(widened: readonly Widening[]): string {
  const byPolicy = new Map<string, Widening[]>();
  for (const w of widened) byPolicy.set(w.policy, [...(byPolicy.get(w.policy) ?? []), w]);
  const clauses = [...byPolicy].map(([policy, ws]) => {
    const more = ws.length > 1 ? ` (and ${ws.length - 1} more rule(s) that widen it)` : '';
    return `NetworkPolicy ${policy} ${ws[0]!.reason}${more}`;
  });
  const named = clauses.slice(0, MAX_POLICIES_NAMED);
  const others = clauses.length - named.length;
  return clip(
    named.join('; ') + (others > 0 ? `; and ${others} more NetworkPolicies that widen it` : ''),
    MAX_MESSAGE,
  );
}

interface Exposure {
  reachableFrom: ReturnType<typeof summarize>;
  widened: ReturnType<typeof widening>;
}

/** Who can reach the app's pods under every live policy of its namespace. */
function exposure(c: Ctx, app: App, space: Space, peerings: readonly Peering[]): Exposure {
  const namespace = app.metadata.namespace ?? '';
  const reach = evaluateIngress({
    pod: { namespace, labels: appSelector(app), ports: [{ name: 'web', containerPort: app.spec.port }] },
    policies: c.informers.networkPolicies.list(namespace),
    namespaces: c.informers.namespaces
      .list()
      .map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} })),
  });
  const peers = activePeeringCidrs(peerings, namespace);
  const cidrs = isInternal(app) ? peers : sortCidrs([...space.spec.trustedIPRanges, ...peers]);
  return {
    reachableFrom: summarize(reach),
    widened: widening({ reach, allowed: { spaceNamespace: namespace, cidrs } }),
  };
}

function exposedConditions(
  conditions: Condition[],
  widened: Exposure['widened'],
  generation?: number,
  /** Appended to the messages (e.g. that status.reachableFrom had to be cut). */
  note = '',
): Condition[] {
  if (widened.length === 0) {
    return setCondition(
      conditions,
      {
        type: 'Exposed',
        status: 'False',
        reason: 'Contained',
        message: 'reachable only from its Space and peered networks',
      },
      generation,
    );
  }
  const message = exposureMessage(widened) + note;
  const list = setCondition(
    conditions,
    { type: 'Exposed', status: 'True', reason: 'WideningPolicy', message },
    generation,
  );
  return setCondition(list, { type: 'Ready', status: 'False', reason: 'Exposed', message }, generation);
}

export function appReconciler(c: Ctx): Reconciler<string> {
  return {
    name: 'app',
    async reconcile(key): Promise<void> {
      const app = c.informers.apps.get(key);
      if (!app || app.metadata.deletionTimestamp) return; // children go by garbage collection
      const namespace = app.metadata.namespace ?? '';
      const generation = app.metadata.generation;
      const space = c.informers.spaces.get(namespace);
      const errors = validateApp(app, space, undefined, c.settings);
      if (!space || errors.length > 0) {
        const message = errorText(errors) || `namespace ${namespace} belongs to no Space`;
        await reportInvalidSpec(c, app, message);
        return;
      }
      // The Service and the NetworkPolicy are independent: apply them at the same time.
      const peerings = c.informers.peerings.list(namespace);
      const [serviceApplied] = await Promise.all(
        appChildren(app, space, peerings).map((child) => c.applier.apply(child)),
      );
      const clusterIP = (serviceApplied?.object as { spec?: { clusterIP?: string } } | undefined)?.spec
        ?.clusterIP;
      const service = appServiceName(app);
      const reach = exposure(c, app, space, peerings);
      const { widened } = reach;
      const { reachableFrom, omitted } = boundedReach(reach.reachableFrom, widened);
      const exposed = isInternal(app) && widened.length > 0;
      const listed =
        omitted > 0
          ? `; status.reachableFrom shows ${MAX_REACHABLE_FROM} of ${reachableFrom.length + omitted} sources`
          : '';
      let conditions = readyConditions(
        app.status?.conditions,
        {
          state: 'Ready',
          reason: 'Reconciled',
          message: `Service ${service} and NetworkPolicy in place${listed}`,
        },
        generation,
      );
      if (isInternal(app)) conditions = exposedConditions(conditions, widened, generation, listed);
      const wasExposed = app.status?.exposed === true;
      await c.status.patchStatus(app, {
        serviceName: service,
        ...(clusterIP ? { clusterIP } : {}),
        names: appDnsNames(app, space),
        readyEndpoints: readyEndpointCount(c.informers.endpointSlices.list(namespace), service),
        reachableFrom,
        exposed,
        observedGeneration: generation,
        conditions,
      });
      if (exposed && !wasExposed) {
        const note = exposureMessage(widened);
        await c.events.emit(app, { type: 'Warning', reason: 'Exposed', action: 'EvaluateReach', note });
      } else if (!exposed && wasExposed) {
        await c.events.emit(app, {
          reason: 'ExposureCleared',
          action: 'EvaluateReach',
          note: 'reachable only from its Space and peered networks again',
        });
      }
    },
  };
}
