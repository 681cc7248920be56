import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isSubset } from '../engine/subset.ts';
import { LAST_APPLIED, slimChild, slimCommon, slimEndpointSlice, slimIngress } from './slim.ts';

// The fields the operator applies to a Service, and the Service as the API server returns it.
const applied = {
  metadata: {
    labels: { 'privatespaces.dev/app': 'web' },
    ownerReferences: [{ apiVersion: 'privatespaces.dev/v1alpha1', kind: 'App', name: 'web', uid: 'a-1' }],
  },
  spec: {
    type: 'LoadBalancer',
    externalTrafficPolicy: 'Local',
    loadBalancerSourceRanges: ['203.0.113.0/24'],
    ports: [{ name: 'web', port: 5000, targetPort: 5000, protocol: 'TCP' }],
    selector: { 'privatespaces.dev/app': 'web' },
  },
};

const liveService = (): KubernetesObject =>
  structuredClone({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...applied.metadata,
      name: 'web',
      namespace: 'acme',
      uid: 'u-1',
      resourceVersion: '7',
      creationTimestamp: '2026-11-25T10:00:00Z',
    },
    spec: {
      ...applied.spec,
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      healthCheckNodePort: 31000,
      ports: [{ ...applied.spec.ports[0], nodePort: 30001 }],
    },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } },
  }) as unknown as KubernetesObject;

describe('cache transforms', () => {
  it("slimChild drops a Service's uid, creation time and defaulted fields, keeping what readers use", () => {
    const s = slimChild(liveService()) as KubernetesObject & {
      spec: Record<string, unknown>;
      status: unknown;
    };
    expect(s.metadata).not.toHaveProperty('uid');
    expect(s.metadata).not.toHaveProperty('creationTimestamp');
    expect(s.metadata?.resourceVersion).toBe('7');
    expect(Object.keys(s.spec).sort()).toEqual([
      'clusterIP',
      'externalTrafficPolicy',
      'loadBalancerSourceRanges',
      'ports',
      'selector',
      'type',
    ]);
    expect(s.status).toEqual({ loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } });
    // The Applier's skip check still sees everything it applies.
    expect(isSubset(applied, s)).toBe(true);
  });

  it("slimCommon drops kubectl's last-applied copy and nothing else", () => {
    const withCopy = {
      metadata: { name: 'p', annotations: { [LAST_APPLIED]: '{"big":"copy"}', keep: 'me' } },
    } as KubernetesObject;
    expect(slimCommon(withCopy).metadata?.annotations).toEqual({ keep: 'me' });
    const onlyCopy = { metadata: { name: 'p', annotations: { [LAST_APPLIED]: '{}' } } } as KubernetesObject;
    expect(slimCommon(onlyCopy).metadata).toEqual({ name: 'p' });
  });

  it("slimEndpointSlice keeps a slice's Service and App labels and endpoints' readiness only", () => {
    const slice = slimEndpointSlice({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'web-abc',
        namespace: 'acme',
        uid: 'u',
        resourceVersion: '3',
        labels: { 'kubernetes.io/service-name': 'web', 'privatespaces.dev/app': 'web', other: 'x' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: true, serving: true }, nodeName: 'n1' }],
      ports: [{ port: 5000 }],
    } as KubernetesObject);
    expect(slice).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'web-abc',
        namespace: 'acme',
        resourceVersion: '3',
        labels: { 'kubernetes.io/service-name': 'web', 'privatespaces.dev/app': 'web' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: true } }],
    });
  });
});

describe('slimIngress', () => {
  it('keeps identity and the backend Services, drops hosts, TLS, annotations and ports', () => {
    const ing = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'in', namespace: 'acme', resourceVersion: '3', annotations: { a: 'b' }, uid: 'u' },
      spec: {
        ingressClassName: 'nginx',
        tls: [{ hosts: ['x.example'], secretName: 's' }],
        defaultBackend: { service: { name: 'd', port: { number: 80 } } },
        rules: [
          {
            host: 'x.example',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { number: 80 } } },
                },
              ],
            },
          },
          { host: 'no-http.example' },
        ],
      },
    };
    expect(slimIngress(ing)).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'in', namespace: 'acme', resourceVersion: '3' },
      spec: {
        defaultBackend: { service: { name: 'd' } },
        rules: [{ http: { paths: [{ backend: { service: { name: 'web' } } }] } }, { http: { paths: [] } }],
      },
    });
  });
});
