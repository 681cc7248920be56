import { describe, expect, it } from 'vitest';
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { foreignOf, serverBlockZones } from './foreign.ts';
import { KEYS } from './render.ts';
import { dnsSpaces, sliceHasReadyEndpoint, type EndpointSliceLike } from './snapshot.ts';

const space = (name: string, over: Partial<Space['spec']> = {}, deleting = false): Space => ({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'Space',
  metadata: {
    name,
    creationTimestamp: '2025-01-01T00:00:00Z',
    ...(deleting ? { deletionTimestamp: '2025-03-01T00:00:00Z' } : {}),
  },
  spec: { cidr: '10.0.0.0/16', region: 'us', generation: 'cedar', trustedIPRanges: ['0.0.0.0/0'], ...over },
});

const app = (name: string, ns: string, over: Partial<App['spec']> = {}, deleting = false): App => ({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'App',
  metadata: {
    name,
    namespace: ns,
    creationTimestamp: '2025-02-01T00:00:00Z',
    ...(deleting ? { deletionTimestamp: '2025-03-01T00:00:00Z' } : {}),
  },
  spec: { internalRouting: true, port: 5000, acm: false, dnsDiscovery: true, ...over },
});

const svc = (name: string, ns: string, clusterIP = '10.96.0.10') => ({
  metadata: { name, namespace: ns },
  spec: { clusterIP },
});

const slice = (
  service: string,
  ns: string,
  endpoints: EndpointSliceLike['endpoints'],
): EndpointSliceLike => ({
  metadata: { namespace: ns, labels: { 'kubernetes.io/service-name': service } },
  endpoints,
});

describe('sliceHasReadyEndpoint', () => {
  it.each([
    ['ready: true', [{ addresses: ['10.0.0.5'], conditions: { ready: true } }], true],
    ['ready unset (means ready)', [{ addresses: ['10.0.0.5'], conditions: {} }], true],
    ['no conditions', [{ addresses: ['10.0.0.5'] }], true],
    ['ready: false', [{ addresses: ['10.0.0.5'], conditions: { ready: false } }], false],
    [
      'one of two ready',
      [{ addresses: ['10.0.0.5'], conditions: { ready: false } }, { addresses: ['10.0.0.6'] }],
      true,
    ],
    ['no endpoints', [], false],
    ['endpoints: null', null, false],
    ['no address', [{ addresses: [], conditions: { ready: true } }], false],
  ])('%s → %s', (_, endpoints, want) => {
    expect(sliceHasReadyEndpoint(slice('shop', 'alpha', endpoints as EndpointSliceLike['endpoints']))).toBe(
      want,
    );
  });
});

describe('dnsSpaces', () => {
  it('joins Apps to their Space, Service and readiness', () => {
    const out = dnsSpaces({
      spaces: [space('alpha', { dnsDomain: 'alpha.corp.example' }), space('beta')],
      apps: [
        app('shop', 'alpha', { domains: ['WWW.Shop.Example'] }),
        app('idle', 'alpha'),
        app('stray', 'nospace'),
      ],
      services: [svc('shop', 'alpha'), svc('idle', 'alpha', '10.96.0.11')],
      endpointSlices: [slice('shop', 'alpha', [{ addresses: ['10.0.0.5'] }]), slice('idle', 'alpha', [])],
    });
    expect(out).toEqual([
      {
        space: 'alpha',
        namespace: 'alpha',
        dnsDomain: 'alpha.corp.example',
        created: '2025-01-01T00:00:00Z',
        apps: [
          {
            name: 'shop',
            namespace: 'alpha',
            clusterIP: '10.96.0.10',
            names: ['shop.alpha.corp.example', 'www.shop.example', 'web.shop.app.localspace'],
            ready: true,
            created: '2025-02-01T00:00:00Z',
            // DNS discovery on (the default): the web process, no pods given.
            processes: [{ name: 'web', pods: [] }],
          },
          expect.objectContaining({ name: 'idle', clusterIP: '10.96.0.11', ready: false }),
        ],
      },
      {
        space: 'beta',
        namespace: 'beta',
        dnsDomain: 'beta.spaces.local',
        created: '2025-01-01T00:00:00Z',
        apps: [],
      },
    ]);
  });

  it('gives an App without a Service yet no ClusterIP', () => {
    const [alpha] = dnsSpaces({
      spaces: [space('alpha')],
      apps: [app('shop', 'alpha')],
      services: [],
      endpointSlices: [],
    });
    expect(alpha!.apps[0]).toEqual(expect.objectContaining({ clusterIP: '', ready: false }));
  });

  it('drops Spaces and Apps that are being deleted', () => {
    const out = dnsSpaces({
      spaces: [space('alpha'), space('gone', {}, true)],
      apps: [app('shop', 'alpha', {}, true), app('x', 'gone')],
      services: [],
      endpointSlices: [],
    });
    expect(out).toEqual([expect.objectContaining({ space: 'alpha', apps: [] })]);
  });

  it("reads a slice of another Service in the namespace as that Service's", () => {
    const [alpha] = dnsSpaces({
      spaces: [space('alpha')],
      apps: [app('shop', 'alpha')],
      services: [svc('shop', 'alpha')],
      endpointSlices: [
        slice('other', 'alpha', [{ addresses: ['10.0.0.5'] }]),
        slice('shop', 'beta', [{ addresses: ['10.0.0.6'] }]),
      ],
    });
    expect(alpha!.apps[0]!.ready).toBe(false);
  });
});

describe('foreign keys of the ConfigMap', () => {
  it.each([
    ['a plain block', 'example.com {\n  forward . 1.1.1.1\n}\n', ['example.com']],
    [
      'several keys, port 53, scheme, trailing dot',
      'a.example:53 dns://b.example. {\n}\n',
      ['a.example', 'b.example'],
    ],
    ['comma-separated keys', 'a.example, b.example {\n}', ['a.example', 'b.example']],
    ['another port', 'a.example:5353 {\n}', []],
    ['the root zone', '.:53 {\n}', ['.']],
    [
      'nested blocks and comments',
      '# x.example {\nc.example {\n  hosts {\n    1.2.3.4 y\n  }\n}\n',
      ['c.example'],
    ],
    [
      'a snippet and an import',
      '(snip) {\n  errors\n}\nimport other.conf\nd.example {\n  import snip\n}\n',
      ['d.example'],
    ],
  ])('%s', (_, text, zones) => {
    expect(serverBlockZones(text)).toEqual(zones);
  });

  it('counts the bytes and zones of keys that are not ours', () => {
    const f = foreignOf({
      [KEYS.server]: 'ours.example {\n}\n',
      'privatespaces.alpha.hosts': 'x',
      'corp.server': 'corp.example {\n}\n',
      'tweak.override': 'log\n',
    });
    expect(f.zones).toEqual(['corp.example']);
    expect(f.bytes).toBe(
      'corp.server'.length + 'corp.example {\n}\n'.length + 'tweak.override'.length + 'log\n'.length,
    );
  });
});
