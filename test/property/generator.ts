// Seeded, reproducible random worlds for the evaluator's property tests: namespaces (labels), pods
// (labels, named and numbered container ports, an address), NetworkPolicies that only the apiserver
// would accept (valid selectors, canonical CIDRs with `except` strictly inside, named ports as
// IANA_SVC_NAME, endPort ≥ port on numbered ports only) and queries (a source pod or outside address,
// a destination pod, a port, a protocol). Pure: the same seed gives the same world.
import type {
  V1LabelSelector,
  V1LabelSelectorRequirement,
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import type { ContainerPortInfo, Labels, NamespaceInfo } from '../../src/reach/index.ts';

/** `Rng(seed).next` as a plain function: numbers uniform in [0, 1), the same sequence per seed. */
export function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export class Rng {
  private state: number;
  readonly seed: number;
  constructor(seed: number) {
    this.seed = seed;
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }
  /** A random subset (each item with probability p), in the original order. */
  subset<T>(items: readonly T[], p = 0.5): T[] {
    return items.filter(() => this.chance(p));
  }
}

export type PodModel = {
  namespace: string;
  name: string;
  ip: string;
  labels: Labels;
  ports: ContainerPortInfo[];
};
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type Query = {
  from: { pod: string } | { ip: string };
  /** `namespace/name` of the destination pod. */
  to: string;
  port: number;
  protocol: Protocol;
};
export type Topology = { namespaces: NamespaceInfo[]; pods: PodModel[] };
export type World = Topology & { policies: V1NetworkPolicy[]; externalIPs: string[]; queries: Query[] };

/** What may vary; the data-plane test narrows it to what its pods and kube-router can carry. */
export type WorldOptions = {
  namespaceNames: readonly string[];
  podsPerNamespace: [number, number];
  /** 'random': 0–3 container ports from the pools; 'server': one port P as the harness's pods (http/TCP, udp/UDP). */
  podPorts: 'random' | 'server';
  policies: [number, number];
  protocols: readonly Protocol[];
  /** Outside addresses that queries come from (and ipBlocks are drawn around). */
  externalIPs: readonly string[];
  /** When Egress is among a policy's policyTypes, give it `egress: [{}]` so egress never denies. */
  egressAllowAll: boolean;
  /** The policyTypes to draw from (undefined: the field absent, so the apiserver defaults it). */
  policyTypes: readonly (readonly ('Ingress' | 'Egress')[] | undefined)[];
  /**
   * Draw nothing that kube-router v2.1.0 enforces unlike the specification (README.md, Findings): at
   * most one ipBlock per rule, and named ports only as the data plane's pods carry them (http/TCP,
   * udp/UDP), so each resolves. (Policies with both policyTypes: leave them out of `policyTypes`.)
   */
  avoidKubeRouterDeviations: boolean;
};

export const ALL_POLICY_TYPES: WorldOptions['policyTypes'] = [
  undefined,
  ['Ingress'],
  ['Egress'],
  ['Ingress', 'Egress'],
  ['Egress', 'Ingress'],
];

export const LABEL_KEYS = ['app', 'tier', 'team'] as const;
export const LABEL_VALUES = ['a', 'b', 'c', ''] as const;
export const PORT_NUMBERS = [80, 81, 443, 8080, 8081] as const;
export const PORT_NAMES = ['http', 'web', 'metrics'] as const;

export const DEFAULT_OPTIONS: WorldOptions = {
  namespaceNames: ['ns0', 'ns1', 'ns2'],
  podsPerNamespace: [1, 3],
  podPorts: 'random',
  policies: [0, 4],
  protocols: ['TCP', 'UDP', 'SCTP'],
  externalIPs: ['192.168.60.10', '203.0.113.10', '10.244.0.200'],
  egressAllowAll: false,
  policyTypes: ALL_POLICY_TYPES,
  avoidKubeRouterDeviations: false,
};

export function randomLabels(rng: Rng): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of rng.subset(LABEL_KEYS)) out[key] = rng.pick(LABEL_VALUES);
  return out;
}

function randomContainerPorts(rng: Rng): ContainerPortInfo[] {
  const numbers = rng.subset(PORT_NUMBERS, 0.4).slice(0, 3);
  const names = [...PORT_NAMES];
  return numbers.map((containerPort) => {
    const protocol = rng.pick(['TCP', 'TCP', 'UDP', 'SCTP'] as const);
    const name =
      names.length > 0 && rng.chance(0.7) ? names.splice(rng.int(0, names.length - 1), 1)[0] : undefined;
    return name === undefined ? { containerPort, protocol } : { name, containerPort, protocol };
  });
}

/** The container ports of the data plane's pods: a server on `port` over TCP and UDP. */
export function serverPorts(port: number): ContainerPortInfo[] {
  return [
    { name: 'http', containerPort: port, protocol: 'TCP' },
    { name: 'udp', containerPort: port, protocol: 'UDP' },
  ];
}

/** Namespaces and pods; pods get addresses 10.244.0.10, .11, … (the caller may replace them). */
export function generateTopology(rng: Rng, opts: WorldOptions): Topology {
  const count = rng.int(2, opts.namespaceNames.length);
  const namespaces = opts.namespaceNames.slice(0, count).map((name) => ({ name, labels: randomLabels(rng) }));
  const pods: PodModel[] = [];
  for (const ns of namespaces) {
    const n = rng.int(...opts.podsPerNamespace);
    for (let i = 0; i < n; i++) {
      pods.push({
        namespace: ns.name,
        name: `p${i}`,
        ip: `10.244.0.${10 + pods.length}`,
        labels: randomLabels(rng),
        ports: opts.podPorts === 'random' ? randomContainerPorts(rng) : serverPorts(rng.pick(PORT_NUMBERS)),
      });
    }
  }
  return { namespaces, pods };
}

/** A whole world: topology, policies over it, and every query worth asking. */
export function generateWorld(rng: Rng, opts: WorldOptions = DEFAULT_OPTIONS): World {
  const topology = generateTopology(rng, opts);
  const policies = generatePolicies(rng, topology, opts);
  return { ...topology, policies, externalIPs: [...opts.externalIPs], queries: allQueries(topology, opts) };
}

/** Every source (pod or outside address) × destination pod × port × protocol. */
export function allQueries(
  topology: Topology,
  opts: Pick<WorldOptions, 'protocols' | 'externalIPs'>,
): Query[] {
  const sources: Query['from'][] = [
    ...topology.pods.map((p) => ({ pod: `${p.namespace}/${p.name}` })),
    ...opts.externalIPs.map((ip) => ({ ip })),
  ];
  return topology.pods.flatMap((dst) => {
    const to = `${dst.namespace}/${dst.name}`;
    const ports = [...new Set([...dst.ports.map((p) => p.containerPort), 81, 9999])];
    return sources.flatMap((from) =>
      ports.flatMap((port) => opts.protocols.map((protocol): Query => ({ from, to, port, protocol }))),
    );
  });
}

export function generatePolicies(rng: Rng, topology: Topology, opts: WorldOptions): V1NetworkPolicy[] {
  const n = rng.int(...opts.policies);
  const ctx = { rng, topology, opts };
  return Array.from({ length: n }, (_, i) => randomPolicy(ctx, `np${i}`));
}

type Ctx = { rng: Rng; topology: Topology; opts: WorldOptions };

function randomPolicy(ctx: Ctx, name: string): V1NetworkPolicy {
  const { rng } = ctx;
  const namespace = rng.pick(ctx.topology.namespaces).name;
  const types = rng.pick(ctx.opts.policyTypes);
  const spec: NonNullable<V1NetworkPolicy['spec']> = {
    podSelector: rng.chance(0.4) ? {} : randomSelector(ctx, 'pod'),
  };
  if (types) spec.policyTypes = [...types];
  if (rng.chance(0.85)) spec.ingress = Array.from({ length: rng.int(0, 3) }, () => randomRule(ctx));
  const egress = types?.includes('Egress') ?? false;
  if (egress && ctx.opts.egressAllowAll) spec.egress = [{}];
  else if (!ctx.opts.egressAllowAll && rng.chance(0.2))
    spec.egress = [{ ports: [{ port: 53, protocol: 'UDP' }] }];
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

function randomRule(ctx: Ctx): V1NetworkPolicyIngressRule {
  const { rng } = ctx;
  // Raw JSON spells the peers `from` (the typed client's `_from`); the evaluator and kubectl read `from`.
  const rule: V1NetworkPolicyIngressRule & { from?: V1NetworkPolicyPeer[] } = {};
  const peers = rng.pick(['absent', 'empty', 'some', 'some', 'some'] as const);
  if (peers === 'empty') rule.from = [];
  if (peers === 'some') {
    const drawn = Array.from({ length: rng.int(1, 3) }, () => randomPeer(ctx));
    const firstBlock = drawn.findIndex((p) => p.ipBlock);
    rule.from = ctx.opts.avoidKubeRouterDeviations
      ? drawn.filter((p, i) => !p.ipBlock || i === firstBlock)
      : drawn;
  }
  const ports = rng.pick(['absent', 'empty', 'some', 'some'] as const);
  if (ports === 'empty') rule.ports = [];
  if (ports === 'some') rule.ports = Array.from({ length: rng.int(1, 3) }, () => randomPort(ctx));
  return rule;
}

function randomPeer(ctx: Ctx): V1NetworkPolicyPeer {
  const { rng } = ctx;
  switch (rng.pick(['ipBlock', 'pod', 'namespace', 'both'] as const)) {
    case 'ipBlock':
      return { ipBlock: randomIpBlock(ctx) };
    case 'pod':
      return { podSelector: randomSelector(ctx, 'pod') };
    case 'namespace':
      return { namespaceSelector: randomSelector(ctx, 'namespace') };
    case 'both':
      return { namespaceSelector: randomSelector(ctx, 'namespace'), podSelector: randomSelector(ctx, 'pod') };
  }
}

const NAME_KEY = 'kubernetes.io/metadata.name';

/** matchLabels and/or matchExpressions; sometimes empty. Namespace selectors may pin names. */
export function randomSelector(ctx: Ctx, kind: 'pod' | 'namespace'): V1LabelSelector {
  const { rng } = ctx;
  const selector: V1LabelSelector = {};
  if (rng.chance(0.15)) return selector;
  const keys: string[] = kind === 'namespace' ? [...LABEL_KEYS, NAME_KEY] : [...LABEL_KEYS];
  const values = (key: string): string[] =>
    key === NAME_KEY ? [...ctx.topology.namespaces.map((n) => n.name), 'elsewhere'] : [...LABEL_VALUES];
  if (rng.chance(0.5)) {
    const matchLabels: Record<string, string> = {};
    for (const key of rng.subset(keys, 0.35)) matchLabels[key] = rng.pick(values(key));
    selector.matchLabels = matchLabels;
  }
  if (rng.chance(0.6)) {
    selector.matchExpressions = Array.from({ length: rng.int(1, 2) }, () => {
      const key = rng.pick(keys);
      return randomRequirement(rng, key, values(key));
    });
  }
  return selector;
}

function randomRequirement(rng: Rng, key: string, values: string[]): V1LabelSelectorRequirement {
  const operator = rng.pick(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const);
  if (operator === 'Exists' || operator === 'DoesNotExist') return { key, operator };
  const chosen = rng.subset(values, 0.4);
  return { key, operator, values: chosen.length > 0 ? chosen : [rng.pick(values)] };
}

function randomPort(ctx: Ctx): V1NetworkPolicyPort {
  const { rng } = ctx;
  const port: V1NetworkPolicyPort = {};
  if (rng.chance(0.6)) port.protocol = rng.pick(ctx.opts.protocols);
  switch (rng.pick(['none', 'number', 'number', 'range', 'name', 'name'] as const)) {
    case 'none':
      break;
    case 'number':
      port.port = rng.pick(PORT_NUMBERS);
      break;
    case 'range': {
      const start = rng.pick([79, 80, 81, 443, 8000]);
      port.port = start;
      port.endPort = start + rng.pick([0, 1, 2, 100, 1000]);
      break;
    }
    case 'name':
      if (ctx.opts.avoidKubeRouterDeviations) {
        port.port = rng.pick(['http', 'udp']);
        port.protocol = port.port === 'udp' ? 'UDP' : 'TCP';
      } else {
        port.port = rng.pick([...PORT_NAMES, 'udp', 'nosuch']);
      }
      break;
  }
  return port;
}

/** A canonical CIDR around a pod's or outside address, with 0–2 canonical `except`s strictly inside. */
export function randomIpBlock(ctx: Ctx): { cidr: string; except?: string[] } {
  const { rng } = ctx;
  const anchors = [...ctx.topology.pods.map((p) => p.ip), ...ctx.opts.externalIPs];
  const prefix = rng.pick([0, 8, 16, 24, 28, 30, 32]);
  const cidr = canonicalCidr(rng.pick(anchors), prefix);
  if (prefix === 32 || rng.chance(0.5)) return { cidr };
  const inside = anchors.filter((ip) => inCidr(ip, cidr));
  const except = Array.from({ length: rng.int(1, 2) }, () =>
    canonicalCidr(rng.pick(inside), rng.int(prefix + 1, 32)),
  );
  return { cidr, except: [...new Set(except)] };
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The network of `ip` at `prefix`: host bits cleared, as the apiserver accepts it without warning. */
export function canonicalCidr(ip: string, prefix: number): string {
  const size = 2 ** (32 - prefix);
  return `${intToIp(Math.floor(ipToInt(ip) / size) * size)}/${prefix}`;
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base = '', prefix = '0'] = cidr.split('/');
  const size = 2 ** (32 - Number(prefix));
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(base) / size);
}
