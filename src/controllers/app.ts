// App → its Service and NetworkPolicy, and a status that says what a user needs: the
// ClusterIP, the names, ready endpoints, who can reach the app (from every live policy, not only
// ours) and whether an internal app is exposed beyond its Space and peers.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { App, Space } from '../api/v1alpha1/index.ts';
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
import { evaluateIngress, summarize, widening } from '../reach/index.ts';
import { errorText, type Ctx } from './context.ts';

export function readyEndpointCount(slices: readonly V1EndpointSlice[], service: string): number {
  let n = 0;
  for (const s of slices) {
    if (s.metadata?.labels?.['kubernetes.io/service-name'] !== service) continue;
    for (const e of s.endpoints ?? []) if (e.conditions?.ready !== false) n += e.addresses.length > 0 ? 1 : 0;
  }
  return n;
}

interface Exposure {
  reachableFrom: ReturnType<typeof summarize>;
  widened: ReturnType<typeof widening>;
}

/** Who can reach the app's pods under every live policy of its namespace. */
function exposure(c: Ctx, app: App, space: Space): Exposure {
  const namespace = app.metadata.namespace ?? '';
  const reach = evaluateIngress({
    pod: { namespace, labels: appSelector(app), ports: [{ name: 'web', containerPort: app.spec.port }] },
    policies: c.informers.networkPolicies.list(namespace),
    namespaces: c.informers.namespaces
      .list()
      .map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} })),
  });
  const peers = activePeeringCidrs(c.informers.peerings.list(namespace), namespace);
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
  const message = widened.map((w) => `NetworkPolicy ${w.policy} ${w.reason}`).join('; ');
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
      const errors = validateApp(app, space);
      if (!space || errors.length > 0) {
        const message = errorText(errors) || `namespace ${namespace} belongs to no Space`;
        await c.status.patchStatus(app, {
          ...app.status,
          observedGeneration: generation,
          conditions: readyConditions(
            app.status?.conditions,
            { state: 'Stalled', reason: 'InvalidSpec', message },
            generation,
          ),
        });
        await c.events.emit(app, {
          type: 'Warning',
          reason: 'InvalidSpec',
          action: 'Validate',
          note: message,
        });
        return;
      }
      let clusterIP: string | undefined;
      for (const child of appChildren(app, space, c.informers.peerings.list(namespace))) {
        const { object } = await c.applier.apply(child);
        if (child.kind === 'Service')
          clusterIP = (object as { spec?: { clusterIP?: string } }).spec?.clusterIP;
      }
      const service = appServiceName(app);
      const { reachableFrom, widened } = exposure(c, app, space);
      const exposed = isInternal(app) && widened.length > 0;
      let conditions = readyConditions(
        app.status?.conditions,
        { state: 'Ready', reason: 'Reconciled', message: `Service ${service} and NetworkPolicy in place` },
        generation,
      );
      if (isInternal(app)) conditions = exposedConditions(conditions, widened, generation);
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
        const note = widened.map((w) => `NetworkPolicy ${w.policy} ${w.reason}`).join('; ');
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
