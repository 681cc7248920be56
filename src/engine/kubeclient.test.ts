import { describe, expect, it } from 'vitest';
import { metricValue } from './metrics.ts';
import { buildPath, countApiRequest, resourceOfPath } from './kubeclient.ts';

describe('resourceOfPath', () => {
  it('names the resource (and subresource) a path addresses', () => {
    expect(resourceOfPath('/api/v1/services')).toBe('services');
    expect(resourceOfPath('/api/v1/namespaces/a/services')).toBe('services');
    expect(resourceOfPath('/api/v1/namespaces/a/services/web')).toBe('services');
    expect(resourceOfPath('/apis/privatespaces.dev/v1alpha1/namespaces/a/apps/x/status')).toBe('apps/status');
    expect(resourceOfPath('/apis/privatespaces.dev/v1alpha1/spaces/s/status')).toBe('spaces/status');
    expect(resourceOfPath('/api/v1/namespaces')).toBe('namespaces');
    expect(resourceOfPath('/api/v1/namespaces/acme')).toBe('namespaces');
    expect(resourceOfPath('/apis/networking.k8s.io/v1/networkpolicies?limit=500')).toBe('networkpolicies');
    expect(resourceOfPath(buildPath('v1', 'configmaps', 'kube-system', 'coredns-custom'))).toBe('configmaps');
  });

  it('calls the group-version roots discovery', () => {
    expect(resourceOfPath('/api/v1')).toBe('discovery');
    expect(resourceOfPath('/apis/privatespaces.dev/v1alpha1')).toBe('discovery');
  });
});

describe('countApiRequest', () => {
  it('counts by verb and resource', async () => {
    const before = await metricValue('spaces_api_requests_total', { verb: 'watch', resource: 'apps' });
    countApiRequest('watch', '/apis/privatespaces.dev/v1alpha1/apps');
    countApiRequest('watch', '/apis/privatespaces.dev/v1alpha1/apps');
    expect(await metricValue('spaces_api_requests_total', { verb: 'watch', resource: 'apps' })).toBe(
      before + 2,
    );
  });
});
