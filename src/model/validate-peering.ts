// Validation of a Peering against its Space and the Space's other Peerings (which CEL cannot
// see). Heroku's rules: peer ranges are RFC 1918 and overlap neither the Space, its unavailable
// CIDRs, nor another peering of the Space. And (issue 16, attack 5) never the cluster's own
// ranges: a Peering admitted to internal apps that covered the pod or Service CIDR, or the nodes,
// would open them to every pod of the cluster.
import type { Peering } from '../api/v1alpha1/index.ts';
import { MAX_PEERING_CIDRS, PEERING_TYPES } from '../api/v1alpha1/constants.ts';
import type { Space } from '../api/v1alpha1/index.ts';
import { cidrsOverlap, isIpv4Address, isIpv4Cidr, unavailableCIDRs } from './cidr.ts';
import { checkCidr } from './checks.ts';
import type { FieldError } from './types.ts';

/** One of the cluster's own address ranges, and what it is (for the message). */
export interface ClusterRange {
  cidr: string;
  /** e.g. "the cluster's pod range 10.244.1.0/24 of node n1". */
  what: string;
}

/** What the cluster ranges are read from (structural subsets of Node and ServiceCIDR). */
export interface NodeRanges {
  metadata?: { name?: string };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type: string; address: string }[] };
}
export interface ServiceCidrRanges {
  metadata?: { name?: string };
  spec?: { cidrs?: string[] };
}

const NODE_ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP']);

function nodeRanges(node: NodeRanges): ClusterRange[] {
  const name = node.metadata?.name ?? '';
  const pods = new Set([...(node.spec?.podCIDRs ?? []), ...(node.spec?.podCIDR ? [node.spec.podCIDR] : [])]);
  const out: ClusterRange[] = [...pods].map((cidr) => ({
    cidr,
    what: `the cluster's pod range ${cidr} of node ${name}`,
  }));
  return [...out, ...nodeAddresses(node, name)];
}

/** A node's InternalIP and ExternalIP IPv4 addresses, each as a /32. */
function nodeAddresses(node: NodeRanges, name: string): ClusterRange[] {
  return (node.status?.addresses ?? [])
    .filter((a) => NODE_ADDRESS_TYPES.has(a.type) && isIpv4Address(a.address))
    .map((a) => ({ cidr: `${a.address}/32`, what: `the address ${a.address} (${a.type}) of node ${name}` }));
}

/**
 * The cluster's own IPv4 ranges no Peering may cover: every ServiceCIDR's ranges, every node's pod
 * CIDRs and InternalIP/ExternalIP addresses, and the ranges the platform admin configured.
 * Non-IPv4 entries are dropped (peer CIDRs are IPv4).
 */
export function clusterRanges(
  nodes: readonly NodeRanges[],
  serviceCIDRs: readonly ServiceCidrRanges[],
  configured: readonly string[] = [],
): ClusterRange[] {
  const services = serviceCIDRs.flatMap((s) =>
    (s.spec?.cidrs ?? []).map((cidr) => ({
      cidr,
      what: `the cluster's Service range ${cidr} (ServiceCIDR ${s.metadata?.name ?? ''})`,
    })),
  );
  const admin = configured.map((cidr) => ({ cidr, what: `the cluster range ${cidr} (--cluster-cidrs)` }));
  return [...services, ...nodes.flatMap(nodeRanges), ...admin].filter((r) => isIpv4Cidr(r.cidr));
}

function spaceErrors(peering: Peering, space: Space | undefined): FieldError[] {
  if (!space) {
    return [
      {
        field: 'metadata.namespace',
        message: `namespace "${peering.metadata.namespace ?? ''}" belongs to no Space; create the Peering in its Space's namespace (kubectl get spaces)`,
      },
    ];
  }
  if (space.spec.generation === 'fir') {
    return [
      {
        field: 'metadata.namespace',
        message: `Space "${space.metadata.name}" is a fir space, and peering and VPN are not available on fir; use a cedar Space`,
      },
    ];
  }
  return [];
}

function specErrors(peering: Peering, old: Peering | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const { type, cidrs } = peering.spec;
  if (!PEERING_TYPES.includes(type)) {
    errors.push({ field: 'spec.type', message: `"${String(type)}" is not a peering type; use vpc or vpn` });
  }
  if (old && old.spec.type !== type) {
    errors.push({
      field: 'spec.type',
      message: `spec.type is immutable (it was ${old.spec.type}); create a new Peering instead`,
    });
  }
  if (cidrs.length < 1 || cidrs.length > MAX_PEERING_CIDRS) {
    errors.push({
      field: 'spec.cidrs',
      message: `${cidrs.length} ranges given; list from 1 to ${MAX_PEERING_CIDRS}`,
    });
  }
  return [...errors, ...gatewayErrors(peering)];
}

/** spec.peer.gatewayAddress: required for vpn, an IPv4 address whenever given. */
function gatewayErrors(peering: Peering): FieldError[] {
  const gw = peering.spec.peer?.gatewayAddress;
  if (peering.spec.type === 'vpn' && gw === undefined) {
    return [
      {
        field: 'spec.peer.gatewayAddress',
        message: 'a vpn Peering needs the public IPv4 address of your VPN gateway',
      },
    ];
  }
  if (gw !== undefined && !isIpv4Address(gw)) {
    return [
      { field: 'spec.peer.gatewayAddress', message: `"${gw}" is not an IPv4 address such as 198.51.100.7` },
    ];
  }
  return [];
}

/** Why `cidr` covers part of the cluster itself, or undefined. */
export function clusterOverlap(cidr: string, ranges: readonly ClusterRange[]): string | undefined {
  const hit = ranges.find((r) => cidrsOverlap(cidr, r.cidr));
  return hit ? `${cidr} overlaps ${hit.what}; a peer network must not cover the cluster` : undefined;
}

/** Why `cidr` (entry i) collides with the Space, its unavailable CIDRs, an earlier entry, or a sibling. */
function collision(
  peering: Peering,
  i: number,
  space: Space | undefined,
  siblings: readonly Peering[],
): string | undefined {
  const cidr = peering.spec.cidrs[i] as string;
  if (space && cidrsOverlap(cidr, space.spec.cidr)) {
    return `${cidr} overlaps the Space CIDR ${space.spec.cidr}; the peer network must use another range`;
  }
  const reserved = space ? unavailableCIDRs(space.spec.cidr).find((u) => cidrsOverlap(cidr, u)) : undefined;
  if (reserved)
    return `${cidr} overlaps ${reserved}, which is unavailable to peers; the peer network must use another range`;
  const earlier = peering.spec.cidrs.slice(0, i).find((c) => cidrsOverlap(cidr, c));
  if (earlier) return `${cidr} overlaps ${earlier}, listed earlier; list each range once`;
  for (const other of siblings) {
    const hit = other.spec.cidrs.find((c) => cidrsOverlap(cidr, c));
    if (hit)
      return `${cidr} overlaps ${hit} of Peering "${other.metadata.name}"; a range can be peered only once per Space`;
  }
  return undefined;
}

/**
 * `others`: Peerings to check overlaps against (those of other namespaces and the Peering itself,
 * by name, are ignored). The webhook passes all of the namespace's Peerings; peeringPhase only
 * the older ones. `cluster`: the cluster's own ranges (see `clusterRanges`), which no CIDR may
 * overlap.
 */
export function validatePeering(
  peering: Peering,
  space: Space | undefined,
  others: readonly Peering[],
  old?: Peering,
  cluster: readonly ClusterRange[] = [],
): FieldError[] {
  const errors = [...spaceErrors(peering, space), ...specErrors(peering, old)];
  const siblings = others.filter(
    (o) => o.metadata.namespace === peering.metadata.namespace && o.metadata.name !== peering.metadata.name,
  );
  peering.spec.cidrs.forEach((cidr, i) => {
    const field = `spec.cidrs[${i}]`;
    const problem =
      checkCidr(cidr, '192.168.50.0/24', { rfc1918: true }) ??
      clusterOverlap(cidr, cluster) ??
      collision(peering, i, space, siblings);
    if (problem) errors.push({ field, message: problem });
  });
  return errors;
}
