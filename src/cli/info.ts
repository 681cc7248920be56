// `kubectl spaces info SPACE`: Heroku's `spaces:info` and `spaces:peering:info` in one view.
// The network facts come from the model (spaceNetworkStatus, peeringRoutes, appDnsNames), the
// same functions the operator writes its status from; states come from the live status.
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import {
  appDnsNames,
  appPort,
  appProcesses,
  hasDnsDiscovery,
  isInternal,
  processDiscoveryName,
  processStatus,
  type ProcessPod,
  peeringRoutes,
  sortCidrs,
  spaceDnsDomain,
  spaceNetworkStatus,
} from '../model/index.ts';
import { certificateText } from '../tls/report.ts';
import { notFound } from './errors.ts';
import { apiFailure, type Kube } from './kube.ts';
import { fields, structured, table, type OutputFormat } from './output.ts';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface SpaceInfo {
  name: string;
  namespace: string;
  region: string;
  generation: string;
  state: string;
  ready: string;
  cidr: string;
  dynoSubnets: string[];
  peerRoutes: string[];
  unavailableCIDRs: string[];
  trustedIPRanges: string[];
  dnsDomain: string;
}

export interface PeeringInfo {
  name: string;
  type: string;
  cidrs: string[];
  state: string;
  message: string;
}

export interface AppInfo {
  name: string;
  routing: 'internal' | 'external';
  ready: string;
  port: number;
  names: string[];
  clusterIP: string;
  readyEndpoints: string;
  exposed: string;
  /** The App's certificate and its expiry (src/tls/report.ts). */
  certificate: string;
  /** Per process: `web=2/3` (ready/live pods). */
  processes: string[];
  /** `<process>.<app>.app.localspace` of every process while DNS discovery is on. */
  discovery: string[];
}

/** What the CLI reads of a pod to count a process's dynos. */
export type PodCount = ProcessPod;

/** `web=2/3` per process: ready/live pods its selector matches (a pod counts once, web first). */
export function processCounts(app: App, pods: readonly PodCount[]): string[] {
  return processStatus(app, pods, false).map((p) => `${p.name}=${p.ready}/${p.total}`);
}

/** status.processes as the operator wrote it, or (not written yet) counted from the live pods. */
function appProcessText(app: App, pods: readonly PodCount[]): string[] {
  const reported = app.status?.processes;
  if (reported === undefined) return processCounts(app, pods);
  return reported.map((p) => `${p.name}=${p.ready}/${p.total}`);
}

export interface InfoView {
  space: SpaceInfo;
  peerings: PeeringInfo[];
  apps: AppInfo[];
}

/** `True`, `False (Reason)`, or `<unknown>` when the operator has not reported yet. */
export function readyText(conditions: readonly Condition[] | undefined): string {
  const ready = conditions?.find((c) => c.type === 'Ready');
  if (!ready) return '<unknown>';
  return ready.status === 'True' || !ready.reason ? ready.status : `${ready.status} (${ready.reason})`;
}

function byName<T extends { metadata: { name: string } }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) =>
    a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
  );
}

export function infoView(
  space: Space,
  peerings: readonly Peering[],
  apps: readonly App[],
  pods: readonly PodCount[] = [],
  now: number = Date.now(),
): InfoView {
  const net = spaceNetworkStatus(space);
  return {
    space: {
      name: space.metadata.name,
      namespace: net.namespace,
      region: space.spec.region,
      generation: space.spec.generation,
      state: space.status?.state ?? '<unknown>',
      ready: readyText(space.status?.conditions),
      cidr: space.spec.cidr,
      dynoSubnets: net.dynoSubnets,
      peerRoutes: peeringRoutes(space),
      unavailableCIDRs: net.unavailableCIDRs,
      trustedIPRanges: sortCidrs(space.spec.trustedIPRanges),
      dnsDomain: spaceDnsDomain(space),
    },
    peerings: byName(peerings).map((p) => ({
      name: p.metadata.name,
      type: p.spec.type,
      cidrs: sortCidrs(p.spec.cidrs),
      state: p.status?.phase ?? 'pending',
      message: p.status?.message ?? '',
    })),
    apps: byName(apps).map((a) => ({
      name: a.metadata.name,
      routing: isInternal(a) ? 'internal' : 'external',
      ready: readyText(a.status?.conditions),
      port: appPort(a),
      names: appDnsNames(a, space),
      clusterIP: a.status?.clusterIP ?? '<none>',
      readyEndpoints: a.status?.readyEndpoints === undefined ? '<unknown>' : String(a.status.readyEndpoints),
      exposed: a.status?.exposed === undefined ? '<unknown>' : String(a.status.exposed),
      certificate: certificateText(a, now),

      processes: appProcessText(a, pods),
      discovery: hasDnsDiscovery(a, space) ? appProcesses(a).map((p) => processDiscoveryName(a, p.name)) : [],
    })),
  };
}

function spaceText(s: SpaceInfo): string {
  const trusted =
    s.trustedIPRanges.length === 0
      ? '<none> (no inbound web traffic from outside the Space)'
      : `${s.trustedIPRanges.join(', ')} (external apps only)`;
  return fields([
    ['Space', s.name],
    ['Namespace', s.namespace],
    ['Region', s.region],
    ['Generation', s.generation],
    ['State', s.state],
    ['Ready', s.ready],
    ['CIDR', s.cidr],
    ['Dyno subnets', s.dynoSubnets.join(', ')],
    [
      'Peer route',
      `${s.peerRoutes.join(', ')} (a peered network must route the whole range to reach internal apps)`,
    ],
    ['Unavailable CIDRs', `${s.unavailableCIDRs.join(', ')} (a peered network must not use them)`],
    ['Trusted IP ranges', trusted],
    ['DNS domain', s.dnsDomain],
  ]);
}

function peeringsText(v: InfoView, wide: boolean): string {
  if (v.peerings.length === 0) return 'Peerings: <none>\n';
  const headers = ['NAME', 'TYPE', 'CIDRS', 'STATE', ...(wide ? ['MESSAGE'] : [])];
  const rows = v.peerings.map((p) => [
    p.name,
    p.type,
    p.cidrs.join(','),
    p.state,
    ...(wide ? [p.message] : []),
  ]);
  return `Peerings:\n${table(headers, rows, '  ')}`;
}

function appsText(v: InfoView, wide: boolean): string {
  if (v.apps.length === 0) return 'Apps: <none>\n';
  const extra = wide ? ['CLUSTER-IP', 'ENDPOINTS', 'EXPOSED', 'CERTIFICATE'] : [];
  const headers = ['NAME', 'ROUTING', 'READY', 'PORT', 'PROCESSES', ...extra, 'NAMES'];
  // NAMES: router-facing names, then every process's discovery name (pods of the Space only).
  const rows = v.apps.map((a) => [
    a.name,
    a.routing,
    a.ready,
    String(a.port),
    a.processes.join(','),
    ...(wide ? [a.clusterIP, a.readyEndpoints, a.exposed, a.certificate] : []),
    [...new Set([...a.names, ...a.discovery])].join(','),
  ]);
  return `Apps:\n${table(headers, rows, '  ')}`;
}

export function formatInfo(v: InfoView, output?: OutputFormat): string {
  const data = structured(output, v);
  if (data !== undefined) return data;
  const wide = output === 'wide';
  return [spaceText(v.space), peeringsText(v, wide), appsText(v, wide)].join('\n');
}

// --- fetch ---------------------------------------------------------------------------------

export async function runInfo(kube: Kube, name: string, output?: OutputFormat): Promise<string> {
  try {
    const space = await kube.getSpace(name);
    if (!space) throw notFound(`Space "${name}"`, 'list the Spaces with kubectl get spaces');
    const ns = spaceNetworkStatus(space).namespace;
    const [peerings, apps, pods] = await Promise.all([
      kube.listPeerings(ns),
      kube.listApps(ns),
      kube.listPods(ns, ''),
    ]);
    return formatInfo(infoView(space, peerings, apps, pods), output);
  } catch (err) {
    throw apiFailure(err, `reading Space ${name}`);
  }
}
