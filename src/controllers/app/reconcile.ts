// App → its Service and NetworkPolicy, and a status that says what a user needs: the
// ClusterIP, the names, ready endpoints, who can reach the app (judged on the namespace's live
// pods, Services, Ingresses and every policy, not only ours) and whether an internal app is exposed
// beyond its Space and peers, or reachable by hostNetwork pods that no policy restricts.
import type { KubernetesObject, V1EndpointSlice } from '@kubernetes/client-node';
import type { App, Peering, Space } from '../../api/v1alpha1/index.ts';
import type { Condition, Reconciler } from '../../engine/index.ts';
import { readyConditions, setCondition } from '../../engine/index.ts';
import {
  activePeeringCidrs,
  appChildren,
  appDnsNames,
  appSelector,
  appServiceName,
  hasDnsDiscovery,
  isAppController,
  isInternal,
  processStatus,
  sortCidrs,
  staleProcessPolicies,
  validateStoredApp,
} from '../../model/index.ts';
import {
  evaluateIngress,
  formatSelector,
  hostNetworkReach,
  hostNetworkText,
  liveExposure,
  selectorConflicts,
  type AppSelectorRef,
  sourceText,
  type Bypass,
  type LivePod,
  type Reachability,
  type ReachableFrom,
  type SelectorConflict,
  type Widening,
} from '../../reach/index.ts';
import { SERVICE_NAME_LABEL, SLICES_BY_SERVICE } from '../../dns/snapshot.ts';
import type { Ctx, DnsNames, TlsReport } from '../context.ts';
import { namespaceAppIndex, selectorsOf } from './appindex.ts';
import { PerNamespace } from '../../engine/pernamespace.ts';
import {
  policyIndex as policiesByPair,
  serviceIndex as servicesByPair,
  type SelectorIndex,
} from '../../reach/policyindex.ts';
import { HOST_NETWORK_INDEX, POLICIES_BY_APP } from '../informers.ts';
import { errorText, reportInvalidSpec } from '../status.ts';
import { forgetExposure, recordExposure } from '../metrics.ts';

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
  entries: readonly ReachableFrom[],
  widens: ReadonlySet<string>,
): { reachableFrom: ReachableFrom[]; omitted: number } {
  const clipped = entries.map((e) => ({
    ...e,
    source: clip(e.source, MAX_REACH_FIELD),
    ...(e.ports === undefined ? {} : { ports: clip(e.ports, MAX_REACH_FIELD) }),
  }));
  if (clipped.length <= MAX_REACHABLE_FROM) return { reachableFrom: clipped, omitted: 0 };
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
function exposureMessage(widened: readonly Widening[], bypasses: readonly Bypass[] = []): string {
  const byPolicy = new Map<string, Widening[]>();
  for (const w of widened) byPolicy.set(w.policy, [...(byPolicy.get(w.policy) ?? []), w]);
  const clauses = [
    ...bypasses.map((b) => `${b.object} ${b.field} ${b.reason}`),
    ...[...byPolicy].map(([policy, ws]) => {
      const more = ws.length > 1 ? ` (and ${ws.length - 1} more rule(s) that widen it)` : '';
      return `NetworkPolicy ${policy} ${ws[0]!.reason}${more}`;
    }),
  ];
  const named = clauses.slice(0, MAX_POLICIES_NAMED);
  const others = clauses.length - named.length;
  return clip(
    named.join('; ') + (others > 0 ? `; and ${others} more objects that widen it` : ''),
    MAX_MESSAGE,
  );
}

interface Exposure {
  reachableFrom: ReachableFrom[];
  widened: Widening[];
  bypasses: Bypass[];
}

/** The reach of one pod under a stamp of every policy and namespace: reused until either changes. */
type ReachMemo = { stamp: string; byPod: Map<string, Reachability> };
const MAX_MEMO = 5000;

/**
 * Each pod's reach under the namespace's cached policies, memoized; with `written` (our policies
 * the cache may not show yet, see `exposure`) under those in place of the cached ones, not memoized.
 */
function memoReach(
  c: Ctx,
  memo: ReachMemo,
  namespace: string,
  written?: readonly NetworkPolicyObject[],
): (pod: LivePod) => Reachability {
  if (written) {
    const names = new Set<string | undefined>(written.map((p) => p.metadata?.name));
    return (pod) =>
      evaluateIngress({
        pod: { namespace, labels: pod.labels, ports: pod.ports },
        policies: [
          ...policyIndex(c)
            .of(namespace)
            .selecting(pod.labels)
            .filter((p) => !names.has(p.metadata?.name)),
          ...written,
        ],
        namespaces: namespaceInfos(c),
      });
  }
  const stamp = `${c.informers.networkPolicies.resourceVersion}/${c.informers.namespaces.resourceVersion}`;
  if (memo.stamp !== stamp || memo.byPod.size > MAX_MEMO) {
    memo.stamp = stamp;
    memo.byPod.clear();
  }
  return (pod) => {
    const key = JSON.stringify([namespace, pod.labels, pod.ports]);
    const hit = memo.byPod.get(key);
    if (hit) return hit;
    const reach = evaluateIngress({
      pod: { namespace, labels: pod.labels, ports: pod.ports },
      // Those that may select the pod (a superset, judged again by the evaluator), not all of them.
      policies: policyIndex(c).of(namespace).selecting(pod.labels),
      namespaces: namespaceInfos(c),
    });
    memo.byPod.set(key, reach);
    return reach;
  };
}

// Each namespace's policies by podSelector pair and Services by selector pair, per cache.
const indexes = new WeakMap<object, unknown>();
function indexOf<T extends object>(
  cache: { list(namespace: string): readonly T[] },
  make: (items: readonly T[]) => SelectorIndex<T>,
): PerNamespace<T, SelectorIndex<T>> {
  let index = indexes.get(cache) as PerNamespace<T, SelectorIndex<T>> | undefined;
  if (!index)
    indexes.set(
      cache,
      (index = new PerNamespace((ns) => cache.list(ns), make, {
        extend: (ix, l, from) => ix.extendedTo(l, from),
      })),
    );
  return index;
}
const policyIndex = (c: Ctx): PerNamespace<NetworkPolicyObject, SelectorIndex<NetworkPolicyObject>> =>
  indexOf(c.informers.networkPolicies, policiesByPair);
const serviceIndex = (c: Ctx): PerNamespace<ServiceObject, SelectorIndex<ServiceObject>> =>
  indexOf(c.informers.services, servicesByPair);
type ServiceObject = ReturnType<Ctx['informers']['services']['list']>[number];
type NetworkPolicyObject = ReturnType<Ctx['informers']['networkPolicies']['list']>[number];

type NamespaceInfos = readonly { name: string; labels: Record<string, string> }[];
// The cluster's namespaces as the reach evaluator reads them, built again only when the namespace
// cache changed (its resourceVersion moves with every event and relist), not twice per reconcile.
const namespaceMemo = new WeakMap<object, { rv: string; infos: NamespaceInfos }>();
const namespaceInfos = (c: Ctx): NamespaceInfos => {
  const cache = c.informers.namespaces;
  const held = namespaceMemo.get(cache);
  if (held && cache.resourceVersion && held.rv === cache.resourceVersion) return held.infos;
  // Shared read-only by type (not frozen: V8's builtins are slow on frozen arrays).
  const infos = cache.list().map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} }));
  namespaceMemo.set(cache, { rv: cache.resourceVersion, infos });
  return infos;
};

/**
 * Who can reach the app's pods: its live pods (or, while none exists, the pod its selector describes)
 * under every live policy of its namespace, and the Services, Ingresses and host networking that
 * bypass the policies.
 */
function exposure(
  c: Ctx,
  memo: ReachMemo,
  app: App,
  reconciled: { space: Space; peerings: readonly Peering[]; children: readonly KubernetesObject[] },
): Exposure {
  const { space, peerings, children } = reconciled;
  const namespace = app.metadata.namespace ?? '';
  const peers = activePeeringCidrs(peerings, namespace);
  const cidrs = isInternal(app) ? peers : sortCidrs([...space.spec.trustedIPRanges, ...peers]);
  // The App's children as this reconcile left them, over the cache (which may not show them yet):
  // the echo of our own write does not queue the App again (watches.ts).
  const services = withChildren(c.informers.services, namespace, children, 'Service');
  const policies = withChildren(c.informers.networkPolicies, namespace, children, 'NetworkPolicy');
  const live = liveExposure({
    namespace,
    selector: appSelector(app),
    port: app.spec.port,
    pods: c.informers.pods.list(namespace),
    services: services.list,
    ingresses: c.informers.ingresses.list(namespace),
    policies: policies.list,
    namespaces: namespaceInfos(c),
    allowed: { spaceNamespace: namespace, cidrs },
    ownService: appServiceName(app),
    // Through the index of the cached Services, with this reconcile's own (`written`: those the
    // cache does not show as they are yet; an Ingress may route to the App's own Service).
    servicesSelecting: (labels) =>
      withWritten(
        serviceIndex(c)
          .of(namespace)
          .selecting(...labels),
        services.written,
      ),
    reachOf: memoReach(c, memo, namespace, policies.written),
  });
  // Services, Ingresses and hostNetwork pods matter for an internal app only: an external one is public.
  const bypasses = isInternal(app) ? live.bypasses : [];
  const dropped = new Set(isInternal(app) ? [] : live.bypasses.map((b) => `${b.object} ${b.field}`));
  return {
    reachableFrom: live.reachableFrom.filter((e) => !(e.kind === 'any' && dropped.has(e.policy))),
    widened: live.widened,
    bypasses,
  };
}

/** `found` (cached objects) with those of `written` put in their place or added. */
function withWritten<T extends KubernetesObject>(
  found: readonly T[],
  written: readonly T[] | undefined,
): readonly T[] {
  if (!written || written.length === 0) return found;
  const names = new Set(written.map((o) => o.metadata?.name));
  return [...found.filter((o) => !names.has(o.metadata?.name)), ...written];
}

/**
 * The namespace's cached objects with the children of `kind` put in place of the cached ones of
 * the same name (or added after them); `written`: those the cache does not show as they are
 * (undefined when it shows them all, the usual case: then the cached list itself).
 */
export function withChildren<T extends KubernetesObject>(
  cache: { list(namespace: string): readonly T[]; get(key: string): T | undefined },
  namespace: string,
  children: readonly KubernetesObject[],
  kind: string,
): { list: readonly T[]; written?: T[] } {
  const written: T[] = [];
  const added: T[] = [];
  const places: { seen: T; now: T }[] = [];
  for (const o of children) {
    if (o.kind !== kind) continue;
    const seen = cache.get(`${namespace}/${o.metadata?.name}`);
    if (seen === o) continue;
    written.push(o as T);
    if (seen === undefined) added.push(o as T);
    else places.push({ seen, now: o as T });
  }
  const cached = cache.list(namespace);
  if (written.length === 0) return { list: cached };
  // The cached object a child replaces is found by identity: no object of the namespace is read.
  const list = [...cached, ...added];
  for (const { seen, now } of places) {
    const i = list.indexOf(seen);
    if (i >= 0) list[i] = now;
    else list.push(now);
  }
  return { list, written };
}

/** The Exposed condition's reason: a widening policy first, then the kind of the first bypass. */
function exposedReason(widened: readonly Widening[], bypasses: readonly Bypass[]): string {
  if (widened.length > 0 || bypasses.length === 0) return 'WideningPolicy';
  const kind = bypasses[0]!.object.split(' ')[0];
  return kind === 'Service' ? 'ExposingService' : kind === 'Ingress' ? 'ExposingIngress' : 'HostNetworkPod';
}

function exposedConditions(
  conditions: Condition[],
  reach: Pick<Exposure, 'widened' | 'bypasses'>,
  generation?: number,
  /** Appended to the messages (e.g. that status.reachableFrom had to be cut). */
  note = '',
): Condition[] {
  const { widened, bypasses } = reach;
  if (widened.length === 0 && bypasses.length === 0) {
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
  const message = exposureMessage(widened, bypasses) + note;
  const list = setCondition(
    conditions,
    { type: 'Exposed', status: 'True', reason: exposedReason(widened, bypasses), message },
    generation,
  );
  return setCondition(list, { type: 'Ready', status: 'False', reason: 'Exposed', message }, generation);
}

/**
 * HostNetworkReach of an internal app: NetworkPolicy never restricts traffic from a node or from a pod
 * on a node's network, so every hostNetwork pod outside kube-system and the operator's namespace can
 * reach the app whatever its policies say.
 */
export function hostNetworkCondition(
  pods: Parameters<typeof hostNetworkReach>[0],
  exempt: readonly string[],
): Omit<Condition, 'lastTransitionTime'> {
  const found = hostNetworkReach(pods, exempt);
  if (found.length === 0)
    return {
      type: 'HostNetworkReach',
      status: 'False',
      reason: 'NoHostNetworkPods',
      message: `no hostNetwork pod outside ${exempt.join(' and ')} (the nodes themselves are never restricted by NetworkPolicy)`,
    };
  return {
    type: 'HostNetworkReach',
    status: 'True',
    reason: 'HostNetworkPods',
    message: clip(hostNetworkText(found), MAX_MESSAGE),
  };
}

const REFUSAL_REASON = /^[A-Z][A-Za-z]{0,63}$/;

/**
 * status.names and the Names condition from what the DNS controller answers for the App: the names it
 * publishes (True, Published) or, when it refuses some, False with the first refusal's reason
 * (NameConflict, NotAllowed, OverBudget) and every refused name with why. Without an answer (DNS off,
 * or the App not rendered yet) the model's names and no condition.
 */
export function namesStatus(
  answer: DnsNames | undefined,
  modelNames: readonly string[],
): { names: string[]; condition?: Omit<Condition, 'lastTransitionTime'> } {
  if (!answer) return { names: [...modelNames] };
  const names = answer.published.slice(0, MAX_NAMES);
  if (answer.refused.length === 0) {
    const message =
      names.length > 0 ? `published: ${names.join(', ')}` : 'nothing to publish until a web pod is ready';
    return { names, condition: { type: 'Names', status: 'True', reason: 'Published', message } };
  }
  const first = answer.refused[0]!;
  const code = first.code ?? first.reason;
  const reason = REFUSAL_REASON.test(code) ? code : 'NameRefused';
  const refused = answer.refused.map((r) => `${r.name}: ${r.reason}`).join('; ');
  return {
    names,
    condition: { type: 'Names', status: 'False', reason, message: clip(`refused: ${refused}`, MAX_MESSAGE) },
  };
}

/** The CRD's bound on status.names (MAX_APP_DOMAINS + 2). */
const MAX_NAMES = 102;

/** A Stalled message naming the other App, the pod both select and what to change. */
export function conflictMessage(app: App, conflicts: readonly SelectorConflict[]): string {
  const selector = formatSelector({ matchLabels: appSelector(app) });
  const clauses = conflicts.map((k) =>
    k.pod
      ? `the internally routed App "${k.app}" (pod ${k.pod} carries the labels of both)`
      : `the pods of the internally routed App "${k.app}" (a pod may carry the labels of both)`,
  );
  return clip(
    `spec.selector "${selector}" could select ${clauses.join(', ')}: the operator will not put a ` +
      'LoadBalancer Service and trusted-range NetworkPolicy in front of them; change spec.selector so it ' +
      'selects only the pods of this App',
    MAX_MESSAGE,
  );
}

/** Internal Apps of the namespace whose pods an external App's selector could select. */
function conflictsOf(c: Ctx, app: App): SelectorConflict[] {
  if (isInternal(app)) return [];
  const namespace = app.metadata.namespace ?? '';
  const ref = (a: App): AppSelectorRef => ({
    name: a.metadata.name ?? '',
    selector: appSelector(a),
    internal: isInternal(a),
    processes: selectorsOf(a), // every process of an internal App
  });
  const mine = ref(app);
  // Only the internal Apps whose pods its selector could pick can conflict (a shared pod, or
  // overlapping selectors): the namespace's index narrows to those (a superset, judged below).
  const others = namespaceAppIndex(c.informers.apps)
    .of(namespace)
    .couldBePickedBy([{ matchLabels: mine.selector }])
    .filter((a) => !a.metadata.deletionTimestamp && isInternal(a) && a.metadata.name !== app.metadata.name);
  return selectorConflicts(mine, (others as App[]).map(ref), c.informers.pods.list(namespace));
}

/** An App as the informer holds it. */
type AppObject = NonNullable<ReturnType<Ctx['informers']['apps']['get']>>;
type SpaceObject = NonNullable<ReturnType<Ctx['informers']['spaces']['get']>>;

const DISCOVERY_CONDITION = 'DnsDiscovery';

/**
 * The DnsDiscovery condition while spec.dnsDiscovery: true is stored on an App of a fir Space (the
 * old CRD default): the reconciler treats it as off (hasDnsDiscovery) and says so, instead of
 * refusing an App the webhook let in; undefined otherwise (the condition is then removed).
 */
export function ignoredDiscoveryCondition(
  app: Pick<App, 'spec'>,
  space: Pick<Space, 'spec'>,
): Omit<Condition, 'lastTransitionTime'> | undefined {
  if (space.spec.generation !== 'fir' || app.spec.dnsDiscovery !== true) return undefined;
  return {
    type: DISCOVERY_CONDITION,
    status: 'False',
    reason: 'IgnoredOnFir',
    message:
      'spec.dnsDiscovery: true ignored: fir Spaces have no DNS discovery; remove spec.dnsDiscovery or set it to false',
  };
}

/** Every status condition of a reconciled App. */
function appConditions(
  c: Ctx,
  app: App,
  reach: Exposure & { listed: string; space: Space },
  names: ReturnType<typeof namesStatus>,
): Condition[] {
  const generation = app.metadata.generation;
  let conditions = readyConditions(
    app.status?.conditions,
    {
      state: 'Ready',
      reason: 'Reconciled',
      message: `Service ${appServiceName(app)} and NetworkPolicy in place${reach.listed}`,
    },
    generation,
  );
  if (isInternal(app)) {
    conditions = exposedConditions(conditions, reach, generation, reach.listed);
    const hostPods = c.informers.pods.byIndex(HOST_NETWORK_INDEX, 'true');
    const exempt = ['kube-system', c.settings.operatorNamespace];
    conditions = setCondition(conditions, hostNetworkCondition(hostPods, exempt), generation);
  }
  if (names.condition) conditions = setCondition(conditions, names.condition, generation);
  const ignored = ignoredDiscoveryCondition(app, reach.space);
  if (ignored) return setCondition(conditions, ignored, generation);
  return conditions.filter((x) => x.type !== DISCOVERY_CONDITION);
}

async function emitExposure(c: Ctx, app: AppObject, reach: Exposure, exposed: boolean): Promise<void> {
  recordExposure(app, exposed);
  const wasExposed = app.status?.exposed === true;
  if (exposed && !wasExposed) {
    const note = exposureMessage(reach.widened, reach.bypasses);
    await c.events.emit(app, { type: 'Warning', reason: 'Exposed', action: 'EvaluateReach', note });
  } else if (!exposed && wasExposed) {
    await c.events.emit(app, {
      reason: 'ExposureCleared',
      action: 'EvaluateReach',
      note: 'reachable only from its Space and peered networks again',
    });
  }
}

/** The reachableFrom entries that widen the app: listed first when the status must be cut. */
function wideningKeys(reach: Exposure): Set<string> {
  return new Set([
    ...reach.widened.map((w) => `${w.policy}\n${sourceText(w.source)}`),
    ...reach.bypasses.map((b) => `${b.object} ${b.field}\nany`),
  ]);
}

/**
 * The Space the App is reconciled in, or undefined after reporting why it cannot be (invalid
 * spec, no Space, a selector that conflicts with a LoadBalancer's).
 */
async function spaceToReconcile(
  c: Ctx,
  app: AppObject,
  tls: Promise<TlsReport | undefined> | undefined,
): Promise<SpaceObject | undefined> {
  const namespace = app.metadata.namespace ?? '';
  const space = c.informers.spaces.get(namespace);
  const errors = validateStoredApp(app, space, c.settings);
  const invalid = (message: string, reason?: string): Promise<undefined> =>
    reportInvalid(c, app, tls, message, reason);
  if (!space || errors.length > 0)
    return invalid(errorText(errors) || `namespace ${namespace} belongs to no Space`);
  // The operator's own writes pass the same check as a tenant's: no LoadBalancer on internal pods.
  const conflicts = conflictsOf(c, app);
  if (conflicts.length > 0) return invalid(conflictMessage(app, conflicts), 'SelectorConflict');
  return space;
}

/** Stalled with `message` (and the TLS report, when one is on its way); nothing is written but the status. */
async function reportInvalid(
  c: Ctx,
  app: AppObject,
  tls: Promise<TlsReport | undefined> | undefined,
  message: string,
  reason?: string,
): Promise<undefined> {
  const report = await tls;
  await reportInvalidSpec(c, app, message, reason, (status) => withTls(app, report, status));
  return undefined;
}

/**
 * The live objects the App's children would be written over that the operator did not make for
 * this App (no controller owner reference to its uid): someone's Service or NetworkPolicy of the
 * same name. They are never overwritten, and so never deleted with the App either: nothing is
 * adopted (Helm's rule). Each as `<Kind> <namespace>/<name>`.
 */
export function foreignChildren(c: Ctx, app: App, desired: readonly KubernetesObject[]): string[] {
  const out: string[] = [];
  for (const d of desired) {
    const key = `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`;
    const live = d.kind === 'Service' ? c.informers.services.get(key) : c.informers.networkPolicies.get(key);
    if (live && !controlledBy(live, app.metadata.uid)) out.push(`${d.kind} ${key}`);
  }
  return out;
}

/** The object names App `uid` as its controller. */
const controlledBy = (o: KubernetesObject, uid: string | undefined): boolean =>
  uid !== undefined && (o.metadata?.ownerReferences ?? []).some((r) => isAppController(r) && r.uid === uid);

/** The Stalled message of an App whose children's names are taken (see foreignChildren). */
export function notOwnedMessage(app: App, foreign: readonly string[]): string {
  const which = foreign.join(' and ');
  const verb = foreign.length > 1 ? 'exist and were' : 'exists and was';
  return `metadata.name: ${which} ${verb} not created by spaces-operator for App ${app.metadata.namespace}/${app.metadata.name}: never overwritten or deleted; delete or rename ${foreign.length > 1 ? 'them' : 'it'}, or give the App another name`;
}

/**
 * status.tls and the Certificate condition: the TLS controller's report for this App
 * (src/controllers/tls/), else what the status holds. The App's status has this one writer.
 */
export function withTls<S extends { tls?: unknown; conditions?: Condition[] }>(
  app: Pick<App, 'metadata' | 'status'>,
  report: TlsReport | undefined,
  status: S,
): S {
  if (!report || report.uid !== app.metadata.uid)
    return app.status?.tls ? { ...status, tls: app.status.tls } : status;
  return {
    ...status,
    tls: report.tls,
    conditions: setCondition(status.conditions, report.condition, report.generation),
  };
}

/**
 * Applies the App's Service and NetworkPolicies (independent: at the same time); each as it is
 * live now (what the write returned, or the cached copy when nothing needed writing).
 */
async function applyChildren(
  c: Ctx,
  app: AppObject,
  space: SpaceObject,
  children: readonly KubernetesObject[],
): Promise<KubernetesObject[]> {
  const applied = await Promise.all(children.map((child) => c.applier.apply(child)));
  await deleteStalePolicies(c, app, space);
  return applied.map((a) => a.object);
}

/** The ClusterIP of the App's Service as applied. */
const clusterIPOf = (service: KubernetesObject | undefined): string | undefined =>
  (service as { spec?: { clusterIP?: string } } | undefined)?.spec?.clusterIP;

/** Deletes the discovery policies of processes the App no longer has (only the operator's own for it). */
async function deleteStalePolicies(c: Ctx, app: AppObject, space: SpaceObject): Promise<void> {
  const { namespace, uid } = app.metadata;
  if (!uid) return;
  const live = c.informers.networkPolicies.byIndex(POLICIES_BY_APP, `${namespace}/${uid}`);
  for (const p of staleProcessPolicies(app, space, live)) {
    c.log.info(
      { namespace: p.metadata?.namespace, name: p.metadata?.name },
      'deleting the policy of a removed process',
    );
    await c.applier.delete({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: p.metadata?.name ?? '', namespace: p.metadata?.namespace ?? '' },
    });
  }
}

/** status.reachableFrom (bounded, widening sources first), whether the App is exposed, and the note. */
function reachStatus(
  reach: Exposure,
  app: App,
): { reachableFrom: ReachableFrom[]; exposed: boolean; listed: string } {
  const { reachableFrom, omitted } = boundedReach(reach.reachableFrom, wideningKeys(reach));
  const exposed = isInternal(app) && (reach.widened.length > 0 || reach.bypasses.length > 0);
  const listed =
    omitted > 0
      ? `; status.reachableFrom shows ${MAX_REACHABLE_FROM} of ${reachableFrom.length + omitted} sources`
      : '';
  return { reachableFrom, exposed, listed };
}

export function appReconciler(c: Ctx): Reconciler<string> {
  const memo: ReachMemo = { stamp: '', byPod: new Map() };
  return {
    name: 'app',
    async reconcile(key): Promise<void> {
      const app = c.informers.apps.get(key);
      if (!app || app.metadata.deletionTimestamp) return forgetExposure(key); // children go by garbage collection
      // The certificate is judged while the children are written: a new App's status is written once.
      const tlsReport = c.tlsReport?.(key);
      const space = await spaceToReconcile(c, app, tlsReport);
      if (!space) return;
      const namespace = app.metadata.namespace ?? '';
      const peerings = c.informers.peerings.list(namespace);
      const desired = appChildren(app, space, peerings);
      const foreign = foreignChildren(c, app, desired);
      if (foreign.length > 0) {
        await reportInvalid(c, app, tlsReport, notOwnedMessage(app, foreign), 'NameTaken');
        return;
      }
      const [children, tls] = await Promise.all([applyChildren(c, app, space, desired), tlsReport]);
      const clusterIP = clusterIPOf(children[0]);
      const service = appServiceName(app);
      const reach = exposure(c, memo, app, { space, peerings, children });
      const { reachableFrom, exposed, listed } = reachStatus(reach, app);
      const names = namesStatus(c.dnsNames?.(key), appDnsNames(app, space));
      await c.status.patchStatus(
        app,
        withTls(app, tls, {
          serviceName: service,
          ...(clusterIP ? { clusterIP } : {}),
          names: names.names,
          readyEndpoints: readyEndpointCount(
            c.informers.endpointSlices.byIndex(SLICES_BY_SERVICE, `${namespace}/${service}`),
            service,
          ),
          processes: processStatus(app, c.informers.pods.list(namespace), hasDnsDiscovery(app, space)),
          reachableFrom,
          exposed,
          observedGeneration: app.metadata.generation,
          conditions: appConditions(c, app, { ...reach, listed, space }, names),
        }),
      );
      await emitExposure(c, app, reach, exposed);
    },
  };
}
