// `kubectl spaces reach APP`: who can open connections to the App's web pods, computed with the
// operator's own evaluator (src/reach) from EVERY live NetworkPolicy of the namespace (policies
// add up: anyone's policy can widen an app) and the cluster's namespaces. Flags the rules that
// let in anything beyond the Space and its active peerings (external apps: and the trusted IP
// ranges); exit 4 when there is one.
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import {
  activePeeringCidrs,
  appSelector,
  isInternal,
  SPACE_LABEL,
  sortCidrs,
  WEB_PORT_NAME,
} from '../model/index.ts';
import {
  NOT_ISOLATED,
  evaluateIngress,
  formatPorts,
  sourceText,
  widening,
  type Allowed,
  type ContainerPortInfo,
  type NamespaceInfo,
  type PodInfo,
  type Reachability,
  type ReachRule,
  type Widening,
} from '../reach/index.ts';
import { CliError, EXIT, failure, notFound } from './errors.ts';
import { apiFailure, type Kube, type Obj } from './kube.ts';
import { labelText, list, structured, table, type OutputFormat } from './output.ts';

export interface ReachInput {
  app: App;
  space: Space;
  peerings: readonly Peering[];
  /** Every NetworkPolicy of the App's namespace, as the API returns them. */
  policies: readonly V1NetworkPolicy[];
  namespaces: readonly NamespaceInfo[];
  /** Live pods of the web process (labels, container ports); may be empty. */
  pods: readonly PodInfo[];
}

export interface Evaluation {
  reach: Reachability;
  allowed: Allowed;
  widenings: Widening[];
  /** The label sets evaluated: the App's selector (as the operator does), then each distinct live pod. */
  evaluatedFor: string[];
}

/** The pod the operator evaluates: the selector's labels and the web port. */
export function modelPod(app: App): PodInfo {
  const ports: ContainerPortInfo[] = [{ name: WEB_PORT_NAME, containerPort: app.spec.port, protocol: 'TCP' }];
  return { namespace: app.metadata.namespace ?? '', labels: appSelector(app), ports };
}

/** Allowed sources: the Space's namespace and active peerings; external apps also the trusted ranges. */
export function allowedFor(app: App, space: Space, peerings: readonly Peering[]): Allowed {
  const ns = app.metadata.namespace ?? '';
  const peers = activePeeringCidrs(peerings, ns);
  const cidrs = isInternal(app) ? peers : sortCidrs([...peers, ...space.spec.trustedIPRanges]);
  return { spaceNamespace: ns, cidrs };
}

function podKey(p: PodInfo): string {
  return JSON.stringify([p.labels, p.ports ?? []]);
}

/**
 * The reach of the web pods: the union over the operator's model pod and every distinct live
 * pod (a live pod may carry labels a policy selects on beyond the App's selector).
 */
export function evaluateApp(input: ReachInput): Evaluation {
  const pods = [modelPod(input.app), ...input.pods];
  const distinct = [...new Map(pods.map((p) => [podKey(p), p])).values()];
  const seen = new Set<string>();
  const rules: ReachRule[] = [];
  let isolated = true;
  for (const pod of distinct) {
    const r = evaluateIngress({ pod, policies: input.policies, namespaces: input.namespaces });
    isolated &&= r.isolated;
    for (const rule of r.rules) {
      const key = JSON.stringify(rule);
      if (!seen.has(key)) rules.push(rule);
      seen.add(key);
    }
  }
  const reach: Reachability = { isolated, rules };
  const allowed = allowedFor(input.app, input.space, input.peerings);
  return {
    reach,
    allowed,
    widenings: widening({ reach, allowed }),
    evaluatedFor: distinct.map((p) => labelText(p.labels)),
  };
}

export interface ReachRow {
  source: string;
  kind: string;
  ports: string;
  policy: string;
  field: string;
  exposes: boolean;
}

export interface ReachView {
  app: string;
  namespace: string;
  space: string;
  routing: 'internal' | 'external';
  peeringCidrs: string[];
  trustedIPRanges: string[];
  evaluatedFor: string[];
  reachableFrom: ReachRow[];
  exposed: boolean;
  widenings: { policy: string; field: string; source: string; reason: string }[];
}

export function reachView(input: ReachInput, ev: Evaluation = evaluateApp(input)): ReachView {
  const ns = input.app.metadata.namespace ?? '';
  const widens = new Set(ev.widenings.map((w) => `${w.policy} ${w.field} ${sourceText(w.source)}`));
  const rows = ev.reach.rules
    .filter((r) => r.ports === 'all' || r.ports.length > 0)
    .map((r) => ({
      source: sourceText(r.source),
      kind: r.source.kind,
      ports: formatPorts(r.ports),
      policy: r.policy,
      field: r.field,
      exposes: widens.has(`${r.policy} ${r.field} ${sourceText(r.source)}`),
    }));
  return {
    app: input.app.metadata.name,
    namespace: ns,
    space: input.space.metadata.name,
    routing: isInternal(input.app) ? 'internal' : 'external',
    peeringCidrs: activePeeringCidrs(input.peerings, ns),
    trustedIPRanges: isInternal(input.app) ? [] : sortCidrs(input.space.spec.trustedIPRanges),
    evaluatedFor: ev.evaluatedFor,
    reachableFrom: rows,
    exposed: ev.widenings.length > 0,
    widenings: ev.widenings.map((w) => ({
      policy: w.policy,
      field: w.field,
      source: sourceText(w.source),
      reason: w.reason,
    })),
  };
}

/** Who may connect, in words: `Space acme, its active peerings (…)[, the trusted IP ranges (…)]`. */
export function allowedText(
  v: Pick<ReachView, 'space' | 'routing' | 'peeringCidrs' | 'trustedIPRanges'>,
): string {
  const base = `Space ${v.space} and its active peerings (${list(v.peeringCidrs)})`;
  return v.routing === 'internal' ? base : `${base} and the trusted IP ranges (${list(v.trustedIPRanges)})`;
}

/** `policy: reason` (the reason names the field), or the reason alone for a pod no policy isolates. */
export function wideningText(w: { policy: string; reason: string }): string {
  return w.policy === NOT_ISOLATED ? w.reason : `${w.policy}: ${w.reason}`;
}

/** What to do about the widenings. */
export function wideningFix(v: Pick<ReachView, 'namespace' | 'widenings'>): string {
  if (v.widenings.some((w) => w.policy === NOT_ISOLATED)) {
    return `no policy isolates the pods, so the Space's default-deny policy is missing: check the operator is running and reconciling (kubectl -n ${v.namespace} get networkpolicy)`;
  }
  const names = [...new Set(v.widenings.map((w) => w.policy.slice(w.policy.indexOf('/') + 1)))];
  return (
    `narrow or delete ${names.length === 1 ? 'that NetworkPolicy' : 'those NetworkPolicies'} ` +
    `(kubectl -n ${v.namespace} get networkpolicy ${names.join(' ')} -o yaml); ` +
    "policies add up, so the operator's own policy cannot take that access away"
  );
}

function verdict(v: ReachView): string {
  if (!v.exposed) return `Not exposed: only ${allowedText(v)} can connect.\n`;
  const lines = v.widenings.map((w) => `  ${wideningText(w)}`);
  const head = `EXPOSED: the ${v.routing} app ${v.app} is reachable from beyond ${allowedText(v)}:`;
  return [head, ...lines, `Fix: ${wideningFix(v)}.`].join('\n') + '\n';
}

export function formatReach(v: ReachView, output?: OutputFormat): string {
  const data = structured(output, v);
  if (data !== undefined) return data;
  const wide = output === 'wide';
  const head = `App ${v.namespace}/${v.app} (${v.routing}, Space ${v.space}): who can open connections to its web pods\n`;
  const headers = ['SOURCE', 'PORTS', 'POLICY', ...(wide ? ['FIELD'] : []), ''];
  const rows = v.reachableFrom.map((r) => [
    r.source,
    r.ports,
    r.policy,
    ...(wide ? [r.field || '-'] : []),
    r.exposes ? 'EXPOSED' : '',
  ]);
  const evaluated = wide ? `Evaluated for pods labelled: ${v.evaluatedFor.join(' | ')}\n` : '';
  return head + table(headers, rows) + evaluated + verdict(v);
}

// --- fetch ---------------------------------------------------------------------------------

export function podInfo(pod: Obj, namespace: string): PodInfo {
  const meta = pod.metadata ?? {};
  const spec = pod['spec'] as { containers?: { ports?: ContainerPortInfo[] }[] } | undefined;
  const ports = (spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      containerPort: p.containerPort,
      protocol: p.protocol ?? 'TCP',
    })),
  );
  return { namespace, labels: meta.labels ?? {}, ports };
}

export function namespaceInfo(ns: Obj): NamespaceInfo {
  return { name: ns.metadata?.name ?? '', labels: ns.metadata?.labels ?? {} };
}

/** The App, or a not-found error that says where Apps live. */
export async function findApp(kube: Kube, name: string): Promise<App> {
  const app = await kube.getApp(kube.namespace, name);
  if (app) return app;
  const elsewhere = await kube
    .listApps()
    .then((apps) => apps.filter((a) => a.metadata.name === name).map((a) => a.metadata.namespace ?? ''))
    .catch(() => [] as string[]);
  const hint =
    elsewhere.length > 0
      ? `App ${name} exists in namespace ${elsewhere.join(', ')}: pass -n ${elsewhere[0] ?? ''}`
      : "Apps live in their Space's namespace: pass -n SPACE (kubectl get apps -A)";
  throw notFound(`App "${name}" in namespace ${kube.namespace}`, hint);
}

/** The Space owning `namespace`: the Space named as it, else the one its privatespaces.dev/space label names. */
export async function findSpace(kube: Kube, namespace: string): Promise<Space | undefined> {
  const named = await kube.getSpace(namespace);
  if (named) return named;
  const label = (await kube.getNamespace(namespace))?.metadata?.labels?.[SPACE_LABEL];
  return label ? kube.getSpace(label) : undefined;
}

export async function fetchReachInput(kube: Kube, app: App, space: Space): Promise<ReachInput> {
  const ns = app.metadata.namespace ?? kube.namespace;
  const [peerings, policies, namespaces, pods] = await Promise.all([
    kube.listPeerings(ns),
    kube.listNetworkPolicies(ns),
    kube.listNamespaces(),
    kube.listPods(ns, labelText(appSelector(app))),
  ]);
  return {
    app,
    space,
    peerings,
    policies,
    namespaces: namespaces.map(namespaceInfo),
    pods: pods.map((p) => podInfo(p, ns)),
  };
}

export interface ReachResult {
  out: string;
  exposed: boolean;
}

export async function runReach(kube: Kube, name: string, output?: OutputFormat): Promise<ReachResult> {
  try {
    const app = await findApp(kube, name);
    const ns = app.metadata.namespace ?? kube.namespace;
    const space = await findSpace(kube, ns);
    if (!space) {
      throw failure(
        `namespace ${ns} belongs to no Space, so App ${name} has no Space to be confined to`,
        "create the App in its Space's namespace (kubectl get spaces)",
      );
    }
    const view = reachView(await fetchReachInput(kube, app, space));
    return { out: formatReach(view, output), exposed: view.exposed };
  } catch (err) {
    if (err instanceof Error && err.name === 'InvalidReachInputError') {
      throw new CliError(`a NetworkPolicy cannot be evaluated: ${err.message}`, EXIT.error);
    }
    throw apiFailure(err, `evaluating the reach of App ${name}`);
  }
}
