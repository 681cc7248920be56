// `kubectl spaces doctor APP`: everything that decides whether an App works, and what is wrong
// with it, one line each with what to do. `diagnose` (pure) derives the facts from what the fetch
// part reads — the App, its Space and Peerings, its Service and EndpointSlices, its pods, the
// NetworkPolicies of the namespace, the Events about it and the CoreDNS entries (ConfigMap
// kube-system/coredns-custom) — and applies the rules of doctor-checks.ts. Exit 4 on a problem.
import { certificateProblem, certificateText } from '../tls/report.ts';
import type { V1Pod } from '@kubernetes/client-node';
import {
  appDnsNames,
  appProcesses,
  appSelector,
  appServiceName,
  hasDnsDiscovery,
  isInternal,
  processDiscoveryName,
} from '../model/index.ts';
import { processCounts } from './info.ts';
import type { Space } from '../api/v1alpha1/index.ts';
import { affectsIngress, matchesSelector, policyName } from '../reach/index.ts';
import {
  DNS_CONFIGMAP,
  problemsOf,
  type DnsName,
  type DoctorFacts,
  type DoctorInput,
  type DoctorReport,
} from './doctor-checks.ts';
import { failure } from './errors.ts';
import { apiFailure, ApiError, type Kube, type Obj } from './kube.ts';
import { age, fields, labelText, list, structured, table, type OutputFormat } from './output.ts';
import {
  allowedText,
  findApp,
  findSpace,
  modelPod,
  namespaceInfo,
  podInfo,
  reachView,
  type ReachInput,
} from './reach.ts';

export { DNS_CONFIGMAP, type DoctorInput, type DoctorReport, type Problem } from './doctor-checks.ts';

const MAX_EVENTS = 10;

// --- facts -----------------------------------------------------------------------------------

function podReady(pod: Obj): boolean {
  const conds = (pod['status'] as { conditions?: { type: string; status: string }[] } | undefined)
    ?.conditions;
  return conds?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

interface Endpoint {
  addresses?: string[];
  conditions?: { ready?: boolean | null };
}

/** Endpoints across the Service's slices; ready unless conditions.ready is false (EndpointSlice semantics). */
export function endpointCounts(slices: readonly Obj[]): DoctorReport['endpoints'] {
  let ready = 0;
  let total = 0;
  for (const s of slices) {
    for (const e of (s['endpoints'] as Endpoint[] | undefined) ?? []) {
      if ((e.addresses ?? []).length === 0) continue;
      total++;
      if (e.conditions?.ready !== false) ready++;
    }
  }
  return { ready, total, slices: slices.map((s) => s.metadata?.name ?? '').sort() };
}

/** Where each name appears in the ConfigMap: a hosts-style line `<address> <names…>` holding it. */
export function dnsNames(names: readonly string[], configMap: Obj | undefined): DnsName[] {
  const data = Object.values((configMap?.['data'] as Record<string, string> | undefined) ?? {});
  const lines = data.flatMap((v) => v.split('\n')).map((l) => l.replace(/#.*/, '').trim().split(/\s+/));
  return names.map((name) => {
    const line = lines.find((tokens) => tokens.slice(1).includes(name));
    return line ? { name, published: true, address: line[0] ?? '' } : { name, published: false };
  });
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function eventTime(e: Obj): string | undefined {
  const series = e['series'] as { lastObservedTime?: string } | undefined;
  return (
    series?.lastObservedTime ??
    (e['eventTime'] as string | undefined) ??
    (e['deprecatedLastTimestamp'] as string | undefined) ??
    e.metadata?.creationTimestamp?.toString()
  );
}

function eventRows(events: readonly Obj[], now: Date): DoctorReport['events'] {
  return [...events]
    .map((e) => ({ e, t: eventTime(e) ?? '' }))
    .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0))
    .slice(-MAX_EVENTS)
    .map(({ e, t }) => ({
      age: age(t, now),
      type: text(e['type']),
      reason: text(e['reason']),
      note: text(e['note']),
    }));
}

/** Names of the Ingress policies selecting the web pods (the operator's model pod or a live pod). */
function selectingPolicies(input: DoctorInput): string[] {
  const ns = input.app.metadata.namespace ?? '';
  const labelSets = [modelPod(input.app).labels, ...input.pods.map((p) => p.metadata?.labels ?? {})];
  return input.policies
    .filter((p) => affectsIngress(p) && labelSets.some((l) => matchesSelector(p.spec?.podSelector, l)))
    .map((p) => policyName(p, ns))
    .sort();
}

function serviceFacts(svc: Obj | undefined): DoctorReport['service'] {
  if (!svc) return undefined;
  const spec = (svc['spec'] ?? {}) as {
    type?: string;
    clusterIP?: string;
    ports?: { port: number; protocol?: string }[];
  };
  return {
    name: svc.metadata?.name ?? '',
    type: spec.type ?? 'ClusterIP',
    clusterIP: spec.clusterIP ?? '<none>',
    ports: (spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(','),
  };
}

// --- the report ------------------------------------------------------------------------------

function dnsFacts(input: DoctorInput, space: Space | undefined): DoctorReport['dns'] {
  const where = `${DNS_CONFIGMAP.namespace}/${DNS_CONFIGMAP.name}`;
  const names = space ? appDnsNames(input.app, space) : [];
  if (input.dns.error)
    return {
      source: `cannot read ConfigMap ${where}: ${input.dns.error}; names not checked`,
      checked: false,
      names: names.map((name) => ({ name, published: false })),
    };
  if (!input.dns.configMap) {
    return {
      source: `ConfigMap ${where} not found, so names are not checked (the operator runs with --no-dns, or this cluster's CoreDNS reads another ConfigMap)`,
      checked: false,
      names: names.map((name) => ({ name, published: false })),
    };
  }
  return { source: `ConfigMap ${where}`, checked: true, names: dnsNames(names, input.dns.configMap) };
}

function reachInputOf(input: DoctorInput, ns: string): ReachInput | undefined {
  const { app, space } = input;
  if (!space) return undefined;
  return {
    app,
    space,
    peerings: input.peerings,
    policies: input.policies,
    namespaces: input.namespaces,
    pods: input.pods.map((p) => podInfo(p, ns)),
  };
}

/** The App's own facts: names, routing, generations and conditions. */
function appFacts(
  input: DoctorInput,
): Pick<
  DoctorFacts,
  'app' | 'namespace' | 'space' | 'routing' | 'generation' | 'observedGeneration' | 'conditions'
> {
  const { app, space } = input;
  const generation = app.metadata.generation;
  const observed = app.status?.observedGeneration;
  return {
    app: app.metadata.name,
    namespace: app.metadata.namespace ?? '',
    space: space?.metadata.name ?? '<none>',
    routing: isInternal(app) ? 'internal' : 'external',
    ...(generation === undefined ? {} : { generation }),
    ...(observed === undefined ? {} : { observedGeneration: observed }),
    conditions: app.status?.conditions ?? [],
  };
}

function discoveryNames(input: DoctorInput): string[] {
  const { app, space } = input;
  if (!space || !hasDnsDiscovery(app, space)) return [];
  return appProcesses(app).map((p) => processDiscoveryName(app, p.name));
}

export function diagnose(input: DoctorInput): DoctorReport {
  const { app, space } = input;
  const ns = app.metadata.namespace ?? '';
  const reachInput = reachInputOf(input, ns);
  const facts: DoctorFacts = {
    ...appFacts(input),
    events: eventRows(input.events, input.now),
    ...(input.service ? { service: serviceFacts(input.service) } : {}),
    selector: labelText(appSelector(app)),
    pods: { total: input.pods.length, ready: input.pods.filter(podReady).length },
    processes: processCounts(app, input.allPods ?? input.pods),
    discovery: discoveryNames(input),
    endpoints: endpointCounts(input.endpointSlices),
    dns: dnsFacts(input, space),
    policies: selectingPolicies(input),
    ...(reachInput ? { reach: reachView(reachInput) } : {}),
    certificate: certificateText(app, input.now.getTime()),
  };
  const cert = certificateProblem(app, input.now.getTime());
  const problems = [...problemsOf(input, facts), ...(cert ? [cert] : [])];
  return { ...facts, problems };
}

function conditionsText(r: DoctorReport): string {
  if (r.conditions.length === 0) return 'Conditions: <none>\n';
  const rows = r.conditions.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']);
  return `Conditions:\n${table(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], rows, '  ')}`;
}

function eventsText(r: DoctorReport): string {
  if (r.events.length === 0) return 'Events: <none>\n';
  const rows = r.events.map((e) => [e.age, e.type, e.reason, e.note]);
  return `Events:\n${table(['AGE', 'TYPE', 'REASON', 'MESSAGE'], rows, '  ')}`;
}

function dnsText(r: DoctorReport): string {
  const head = `DNS (${r.dns.source}):\n`;
  if (!r.dns.checked) return head + r.dns.names.map((n) => `  ${n.name}\n`).join('');
  const rows = r.dns.names.map((n) => [
    n.name,
    n.published ? `published -> ${n.address ?? '?'}` : 'not published',
  ]);
  return head + table(['NAME', 'STATE'], rows, '  ');
}

function summaryText(r: DoctorReport, wide: boolean): string {
  const svc = r.service;
  const e = r.endpoints;
  const reach = r.reach
    ? `${r.reach.exposed ? 'EXPOSED' : 'not exposed'}; allowed: ${allowedText(r.reach)}`
    : '<not evaluated: no Space>';
  return fields([
    [
      'Service',
      svc ? `${svc.name}: type ${svc.type}, ClusterIP ${svc.clusterIP}, port ${svc.ports}` : '<missing>',
    ],
    ['Web pods', `${r.pods.total} labelled ${r.selector}, ${r.pods.ready} Ready`],
    ['Processes', `${r.processes.join(' ')} (ready/live)`],
    ['Discovery', r.discovery.length > 0 ? `${list(r.discovery)} (pods of the Space only)` : 'off'],
    ['Endpoints', `${e.ready} ready of ${e.total}${wide ? ` (EndpointSlices: ${list(e.slices)})` : ''}`],
    ['Policies', `${list(r.policies)} (every Ingress policy selecting the web pods)`],
    ['Reach', reach],
    ['TLS', r.certificate ?? '<unknown>'],
  ]);
}

function problemsText(r: DoctorReport): string {
  if (r.problems.length === 0) return 'No problems found.\n';
  return (
    `Problems (${r.problems.length}):\n` + r.problems.map((p) => `  - ${p.what}. Fix: ${p.fix}\n`).join('')
  );
}

export function formatDoctor(r: DoctorReport, output?: OutputFormat): string {
  const data = structured(output, r);
  if (data !== undefined) return data;
  const wide = output === 'wide';
  const head = `App ${r.namespace}/${r.app} (${r.routing}, Space ${r.space})\n`;
  return [head + conditionsText(r), eventsText(r), summaryText(r, wide), dnsText(r), problemsText(r)].join(
    '\n',
  );
}

// --- fetch -----------------------------------------------------------------------------------

async function readDns(kube: Kube): Promise<DoctorInput['dns']> {
  try {
    const configMap = await kube.getConfigMap(DNS_CONFIGMAP.namespace, DNS_CONFIGMAP.name);
    return configMap ? { configMap } : {};
  } catch (err) {
    if (err instanceof ApiError && err.status.code === 403) return { error: 'forbidden for your user' };
    throw err;
  }
}

/** Every hostNetwork pod of the cluster, or why they cannot be read (a tenant may not list pods cluster-wide). */
async function readHostNetwork(kube: Kube): Promise<NonNullable<DoctorInput['hostNetwork']>> {
  try {
    return {
      pods: await kube.list<V1Pod>('/api/v1/pods', { fieldSelector: 'spec.hostNetwork=true' }),
    };
  } catch (err) {
    if (err instanceof ApiError && err.status.code === 403)
      return { error: 'listing pods in every namespace is forbidden for your user' };
    throw err;
  }
}

async function fetchDoctorInput(kube: Kube, name: string, now: Date): Promise<DoctorInput> {
  const app = await findApp(kube, name);
  const ns = app.metadata.namespace ?? kube.namespace;
  const space = await findSpace(kube, ns);
  const selector = labelText(appSelector(app));
  const svcName = appServiceName(app);
  const [peerings, policies, namespaces, pods, service, endpointSlices, events, dns, allPods] =
    await Promise.all([
      kube.listPeerings(ns),
      kube.listNetworkPolicies(ns),
      kube.listNamespaces(),
      kube.listPods(ns, selector),
      kube.getService(ns, svcName),
      kube.listEndpointSlices(ns, svcName),
      kube.listEvents(ns, 'App', app.metadata.name),
      readDns(kube),
      kube.listPods(ns, ''),
    ]);
  const hostNetwork = isInternal(app) ? await readHostNetwork(kube) : undefined;
  return {
    app,
    ...(space ? { space } : {}),
    peerings,
    policies,
    namespaces: namespaces.map(namespaceInfo),
    pods,
    allPods,
    ...(service ? { service } : {}),
    endpointSlices,
    events,
    dns,
    ...(hostNetwork ? { hostNetwork } : {}),
    now,
  };
}

export interface DoctorResult {
  out: string;
  problems: number;
}

export async function runDoctor(
  kube: Kube,
  name: string,
  output?: OutputFormat,
  now = new Date(),
): Promise<DoctorResult> {
  try {
    const report = diagnose(await fetchDoctorInput(kube, name, now));
    return { out: formatDoctor(report, output), problems: report.problems.length };
  } catch (err) {
    if (err instanceof Error && err.name === 'InvalidReachInputError')
      throw failure(`a NetworkPolicy cannot be evaluated: ${err.message}`);
    throw apiFailure(err, `diagnosing App ${name}`);
  }
}
