// The objects the bench creates: Spaces (with their namespaces, declared alongside as a GitOps
// repository would), Peerings and Apps (every other one internal), and what each App's children
// must look like once converged, computed with the operator's own model.
import type { App, Peering, Space } from '../src/api/v1alpha1/index.ts';
import { API_VERSION } from '../src/api/v1alpha1/index.ts';
import { appChildren, isInternal, sortCidrs, validateSpace, type KubeObject } from '../src/model/index.ts';
import { ADOPT_ANNOTATION } from '../src/model/space.ts';

export const TRUSTED = ['203.0.113.0/24'];
export const TRUSTED_CHANGED = ['198.51.100.0/24', '203.0.113.0/24'];

export const spaceName = (i: number): string => `bench-s${i}`;

/** Space i: a /16 of its own in 10.0.0.0/8 (10.1 is reserved, 10.96 holds the Services). */
export function spaceCidr(i: number): string {
  const octets = Array.from({ length: 254 }, (_, k) => k + 2).filter((o) => o !== 96);
  const o = octets[i];
  if (o === undefined) throw new Error(`at most ${octets.length} Spaces`);
  return `10.${o}.0.0/16`;
}

export function space(i: number, trusted: readonly string[] = TRUSTED): Space & KubeObject {
  const s = {
    apiVersion: API_VERSION,
    kind: 'Space',
    metadata: { name: spaceName(i), labels: {} },
    spec: {
      cidr: spaceCidr(i),
      region: 'us',
      generation: 'cedar',
      trustedIPRanges: [...trusted],
    },
  } as unknown as Space & KubeObject;
  const errors = validateSpace(s);
  if (errors.length > 0) throw new Error(`bench Space ${i} is invalid: ${JSON.stringify(errors)}`);
  return s;
}

/** A Space's namespace, declared beside it and opted in to adoption by the Space of its name. */
export function namespace(name: string): KubeObject {
  const ns: KubeObject & { metadata: { annotations?: Record<string, string> } } = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: {}, annotations: { [ADOPT_ANNOTATION]: name } },
  };
  return ns;
}

/** Peering k of Space i (k counts within the Space): 192.168.k.0/24. */
export function peering(i: number, k: number): Peering & KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Peering',
    metadata: { name: `peer-${k}`, namespace: spaceName(i), labels: {} },
    spec: {
      type: 'vpc',
      cidrs: [`192.168.${k % 256}.0/24`],
      peer: { accountID: '123456789012', vpcID: `vpc-${i}-${k}` },
    },
  } as unknown as Peering & KubeObject;
}

/**
 * App n lives in Space n mod spaces; every other App of a Space is internal. `noTls`: the App
 * asks for no certificate (`spec.tls.mode: none`; an internal App gets one by default).
 */
export function app(n: number, spaces: number, noTls = false): App & KubeObject {
  const spec = { internalRouting: Math.floor(n / spaces) % 2 === 1, port: 5000 + (n % 1000) };
  return {
    apiVersion: API_VERSION,
    kind: 'App',
    metadata: { name: `app-${n}`, namespace: spaceName(n % spaces), labels: {} },
    spec: noTls ? { ...spec, tls: { mode: 'none' } } : spec,
  } as unknown as App & KubeObject;
}

export interface Workload {
  spaces: (Space & KubeObject)[];
  peerings: (Peering & KubeObject)[];
  apps: (App & KubeObject)[];
}

/**
 * Spaces [s0, s1), their peerings (`peeringsPerSpace` each), and Apps [a0, a1) spread over
 * all `spacesTotal` Spaces.
 */
export function workload(opts: {
  s0?: number;
  s1: number;
  peerings: number;
  a0?: number;
  a1: number;
  spacesTotal: number;
  /** Apps without certificates (`--parity`). */
  noTls?: boolean;
}): Workload {
  const spaces: Workload['spaces'] = [];
  const peerings: Workload['peerings'] = [];
  const apps: Workload['apps'] = [];
  const s0 = opts.s0 ?? 0;
  const n = opts.s1 - s0;
  for (let i = s0; i < opts.s1; i++) spaces.push(space(i));
  for (let p = 0; p < opts.peerings; p++) peerings.push(peering(s0 + (p % n), Math.floor(p / n)));
  for (let a = opts.a0 ?? 0; a < opts.a1; a++) apps.push(app(a, opts.spacesTotal, opts.noTls));
  return { spaces, peerings, apps };
}

/** The peerings as the operator will see them once active. */
export function activated(peerings: readonly Peering[]): Peering[] {
  return peerings.map((p): Peering => ({ ...p, status: { phase: 'active' } }));
}

/** What the bench checks on an App's children once converged. */
export interface Expected {
  /** Sorted ipBlock CIDRs of the App's NetworkPolicy. */
  policyCidrs: string;
  /** Sorted loadBalancerSourceRanges of an external App's Service. */
  sourceRanges?: string;
}

export function expected(a: App, s: Space, peerings: readonly Peering[]): Expected {
  const [, np] = appChildren(
    a,
    s,
    activated(peerings.filter((p) => p.metadata.namespace === s.metadata.name)),
  );
  const cidrs = policyCidrs(np);
  return isInternal(a)
    ? { policyCidrs: cidrs }
    : { policyCidrs: cidrs, sourceRanges: sortCidrs(s.spec.trustedIPRanges).join(',') };
}

export function policyCidrs(np: { spec?: unknown }): string {
  const spec = np.spec as { ingress?: { from?: { ipBlock?: { cidr: string } }[] }[] } | undefined;
  const cidrs = (spec?.ingress ?? []).flatMap((r) =>
    (r.from ?? []).flatMap((f) => (f.ipBlock ? [f.ipBlock.cidr] : [])),
  );
  return sortCidrs(cidrs).join(',');
}

export function sourceRanges(svc: { spec?: unknown }): string {
  const spec = svc.spec as { loadBalancerSourceRanges?: string[] } | undefined;
  return sortCidrs(spec?.loadBalancerSourceRanges ?? []).join(',');
}

/**
 * The raw phase's objects: the Services and NetworkPolicies the operator writes for the Apps of
 * `w`, moved to namespaces `<prefix>-<space>` and without owner references (their owners do
 * not exist there, and the garbage collector would delete them).
 */
export function rawChildren(prefix: string, w: Workload): KubeObject[] {
  const spaces = new Map(w.spaces.map((s) => [s.metadata.name, s]));
  const out: KubeObject[] = [];
  for (const a of w.apps) {
    const ns = a.metadata.namespace!;
    const s = spaces.get(ns);
    if (!s) throw new Error(`App ${a.metadata.name} is in no Space of the workload`);
    const peers = activated(w.peerings.filter((p) => p.metadata.namespace === ns));
    for (const child of appChildren(a, s, peers)) {
      const { ownerReferences: _drop, ...metadata } = child.metadata;
      out.push({ ...child, metadata: { ...metadata, namespace: `${prefix}-${ns}` } });
    }
  }
  return out;
}
