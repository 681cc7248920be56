import { describe, expect, it } from 'vitest';
import { buildWebhookConfiguration, operatorMatchConditions } from './config.ts';

describe('buildWebhookConfiguration', () => {
  const vwc = buildWebhookConfiguration({
    namespace: 'spaces-system',
    serviceName: 'spaces-operator-webhook',
    caBundle: 'PEM',
  });

  it('is named spaces-operator and fails closed everywhere', () => {
    expect(vwc.metadata?.name).toBe('spaces-operator');
    for (const w of vwc.webhooks ?? []) {
      expect(w).toMatchObject({
        failurePolicy: 'Fail',
        sideEffects: 'None',
        timeoutSeconds: 5,
        admissionReviewVersions: ['v1'],
        matchPolicy: 'Equivalent',
      });
      expect(w.name).toMatch(/^[a-z]+\.privatespaces\.dev$/);
      expect(w.clientConfig).toEqual({
        service: {
          name: 'spaces-operator-webhook',
          namespace: 'spaces-system',
          path: '/validate',
          port: 443,
        },
        caBundle: Buffer.from('PEM').toString('base64'),
      });
    }
  });

  it('never blocks kube-system, kube-public, kube-node-lease or the operator namespace (cidrs: see below)', () => {
    for (const w of vwc.webhooks ?? []) {
      if (w.name === 'cidrs.privatespaces.dev') continue;
      expect(w.namespaceSelector?.matchExpressions).toContainEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', 'kube-public', 'kube-node-lease', 'spaces-system'],
      });
    }
  });

  it('covers every kind the handlers judge, with the right operations', () => {
    const rules = (vwc.webhooks ?? []).flatMap((w) => w.rules ?? []);
    const covered = rules.flatMap((r) =>
      r.resources!.map((res) => `${r.apiGroups![0]}/${res}:${r.operations!.join(',')}`),
    );
    expect(covered.sort()).toEqual(
      [
        'privatespaces.dev/spaces:CREATE,UPDATE',
        'privatespaces.dev/apps:CREATE,UPDATE',
        'privatespaces.dev/peerings:CREATE,UPDATE',
        '/services:CREATE,UPDATE',
        '/pods:CREATE,UPDATE',
        '/replicationcontrollers:CREATE,UPDATE',
        '/namespaces:CREATE,UPDATE',
        'apps/deployments:CREATE,UPDATE',
        'apps/statefulsets:CREATE,UPDATE',
        'apps/daemonsets:CREATE,UPDATE',
        'apps/replicasets:CREATE,UPDATE',
        'batch/jobs:CREATE,UPDATE',
        'batch/cronjobs:CREATE,UPDATE',
        'networking.k8s.io/ingresses:CREATE,UPDATE',
        'networking.k8s.io/networkpolicies:CREATE,UPDATE,DELETE',
        // owned.privatespaces.dev
        '/services:CREATE,UPDATE,DELETE',
        'networking.k8s.io/networkpolicies:CREATE,UPDATE,DELETE',
        '/namespaces:UPDATE,DELETE',
        '/secrets:UPDATE,DELETE',
        '/configmaps:UPDATE,DELETE',
        // cidrs.privatespaces.dev
        'networking.k8s.io/networkpolicies:CREATE,UPDATE',
        'gateway.networking.k8s.io/httproutes:CREATE,UPDATE',
        'gateway.networking.k8s.io/grpcroutes:CREATE,UPDATE',
        'gateway.networking.k8s.io/tcproutes:CREATE,UPDATE',
        'gateway.networking.k8s.io/tlsroutes:CREATE,UPDATE',
      ].sort(),
    );
  });

  it("skips the operator's service account (CEL) on every webhook", () => {
    const cond = operatorMatchConditions('system:serviceaccount:spaces-system:spaces-operator')[0]!;
    expect(cond.expression).toBe(
      "request.userInfo.username != 'system:serviceaccount:spaces-system:spaces-operator'",
    );
    for (const w of vwc.webhooks ?? []) expect(w.matchConditions).toContainEqual(cond);
  });

  it('lets the namespace controller empty a terminating namespace, and keeps ClusterIP Services away', () => {
    const w = vwc.webhooks?.find((x) => x.name === 'workloads.privatespaces.dev');
    expect(w?.matchConditions?.map((c) => c.name)).toEqual(['not-the-operator', 'not-namespace-cleanup']);
    const e = vwc.webhooks?.find((x) => x.name === 'exposure.privatespaces.dev');
    expect(e?.matchConditions?.map((c) => c.name)).toEqual(['not-the-operator', 'exposing-services-only']);
  });

  it('limits pods, workloads, policies and ingresses to Space namespaces', () => {
    const w = vwc.webhooks?.find((x) => x.name === 'workloads.privatespaces.dev');
    expect(w?.namespaceSelector?.matchExpressions).toContainEqual({
      key: 'privatespaces.dev/space',
      operator: 'Exists',
    });
  });

  it('locks only objects labelled managed-by spaces-operator, and lets the garbage collector through', () => {
    const w = vwc.webhooks?.find((x) => x.name === 'owned.privatespaces.dev');
    expect(w?.objectSelector).toEqual({ matchLabels: { 'app.kubernetes.io/managed-by': 'spaces-operator' } });
    expect(w?.matchConditions?.map((c) => c.name)).toEqual([
      'not-the-operator',
      'not-the-garbage-collector',
      'not-namespace-cleanup',
    ]);
    expect(w?.matchConditions?.[1]?.expression).toBe(
      "request.userInfo.username != 'system:serviceaccount:kube-system:generic-garbage-collector' && " +
        "request.userInfo.username != 'system:kube-controller-manager'",
    );
  });

  it('checks CIDRs of policies with an ipBlock everywhere but the operator namespace and Space namespaces', () => {
    const w = vwc.webhooks?.find((x) => x.name === 'cidrs.privatespaces.dev');
    expect(w?.namespaceSelector?.matchExpressions).toEqual([
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['spaces-system'] },
      { key: 'privatespaces.dev/space', operator: 'DoesNotExist' },
    ]);
    expect(w?.matchConditions?.map((c) => c.name)).toEqual(['not-the-operator', 'with-ip-blocks']);
    expect(w?.failurePolicy).toBe('Fail');
  });

  it('takes a URL for local runs and the cert-manager annotation instead of a caBundle', () => {
    const local = buildWebhookConfiguration({ namespace: 'ops', url: 'https://127.0.0.1:9443/validate' });
    expect(local.webhooks?.[0]?.clientConfig).toEqual({ url: 'https://127.0.0.1:9443/validate' });
    const cm = buildWebhookConfiguration({ namespace: 'ops', certManagerCertificate: 'ops/webhook' });
    expect(cm.metadata?.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'ops/webhook' });
  });
});
