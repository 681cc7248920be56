// Test fixtures: complete, defaulted Space / App / Peering objects as the apiserver would
// serve them. For tests (here and in other modules); not re-exported from index.ts.
import type { App, AppSpec } from '../api/v1alpha1/app.ts';
import { API_VERSION } from '../api/v1alpha1/constants.ts';
import type { Peering, PeeringSpec, PeeringStatus } from '../api/v1alpha1/index.ts';
import type { Space, SpaceSpec } from '../api/v1alpha1/index.ts';

export function makeSpace(
  name = 'acme',
  spec: Partial<SpaceSpec> = {},
  uid: string | null = `uid-${name}`,
): Space {
  return {
    apiVersion: API_VERSION,
    kind: 'Space',
    metadata: { name, ...(uid ? { uid } : {}) },
    spec: {
      cidr: '10.20.0.0/16',
      region: 'us',
      generation: 'cedar',
      trustedIPRanges: ['0.0.0.0/0'],
      ...spec,
    },
  };
}

export function makeApp(name = 'billing', spec: Partial<AppSpec> = {}, namespace = 'acme'): App {
  return {
    apiVersion: API_VERSION,
    kind: 'App',
    metadata: { name, namespace, uid: `uid-${name}` },
    spec: { internalRouting: false, port: 5000, acm: false, ...spec },
  };
}

export interface PeeringFixture {
  name?: string;
  namespace?: string;
  spec?: Partial<PeeringSpec>;
  phase?: PeeringStatus['phase'];
  created?: string;
}

export function makePeering(f: PeeringFixture = {}): Peering {
  return {
    apiVersion: API_VERSION,
    kind: 'Peering',
    metadata: {
      name: f.name ?? 'office',
      namespace: f.namespace ?? 'acme',
      ...(f.created ? { creationTimestamp: f.created } : {}),
    },
    spec: { type: 'vpc', cidrs: ['192.168.50.0/24'], ...f.spec },
    ...(f.phase ? { status: { phase: f.phase } } : {}),
  };
}
