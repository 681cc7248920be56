// The pure parts of the App status: Names, HostNetworkReach and the SelectorConflict message.
import type { KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { makeApp, makeSpace } from '../../model/fixtures.ts';
import {
  conflictMessage,
  hostNetworkCondition,
  ignoredDiscoveryCondition,
  namesStatus,
  withChildren,
} from './reconcile.ts';

describe('namesStatus', () => {
  const model = ['billing.acme.spaces.local', 'web.billing.app.localspace'];

  it('keeps the model names and sets no condition while DNS has no answer (disabled or not rendered)', () => {
    expect(namesStatus(undefined, model)).toEqual({ names: model });
  });

  it('writes what DNS publishes, True / Published', () => {
    const got = namesStatus({ published: ['billing.acme.spaces.local'], refused: [] }, model);
    expect(got.names).toEqual(['billing.acme.spaces.local']);
    expect(got.condition).toMatchObject({ type: 'Names', status: 'True', reason: 'Published' });
    expect(got.condition?.message).toContain('billing.acme.spaces.local');
  });

  it.each([
    ['NameConflict', 'NameConflict'],
    ['NotAllowed', 'NotAllowed'],
    ['OverBudget', 'OverBudget'],
  ])('a refusal coded %s is the reason, every refused name in the message', (code, reason) => {
    const got = namesStatus(
      {
        published: ['web.billing.app.localspace'],
        refused: [
          { name: 'github.com', reason: 'not under an allowed suffix: ask the platform admin', code },
          { name: 'x.example', reason: 'App other/x holds it', code: 'NameConflict' },
        ],
      },
      model,
    );
    expect(got.names).toEqual(['web.billing.app.localspace']);
    expect(got.condition).toMatchObject({ type: 'Names', status: 'False', reason });
    expect(got.condition?.message).toContain('github.com: not under an allowed suffix');
    expect(got.condition?.message).toContain('x.example: App other/x holds it');
  });

  it('a refusal without a code uses its reason when it is one word, else NameRefused', () => {
    expect(
      namesStatus({ published: [], refused: [{ name: 'a', reason: 'OverBudget' }] }, model).condition?.reason,
    ).toBe('OverBudget');
    expect(
      namesStatus({ published: [], refused: [{ name: 'a', reason: 'taken by another app' }] }, model)
        .condition?.reason,
    ).toBe('NameRefused');
  });
});

const hostPod = (namespace: string, name: string): V1Pod => ({
  metadata: { namespace, name },
  spec: { hostNetwork: true, containers: [] },
  status: { phase: 'Running' },
});

describe('hostNetworkCondition', () => {
  const exempt = ['kube-system', 'spaces-system'];
  it('False when only exempt namespaces run hostNetwork pods', () => {
    const got = hostNetworkCondition(
      [hostPod('kube-system', 'kube-proxy'), hostPod('spaces-system', 'x')],
      exempt,
    );
    expect(got).toMatchObject({ type: 'HostNetworkReach', status: 'False', reason: 'NoHostNetworkPods' });
  });

  it('True with the count and up to five names', () => {
    const pods = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => hostPod('ingress', n));
    const got = hostNetworkCondition(pods, exempt);
    expect(got).toMatchObject({ type: 'HostNetworkReach', status: 'True', reason: 'HostNetworkPods' });
    expect(got.message).toMatch(/^6 hostNetwork pod\(s\)/);
    expect(got.message).toContain('ingress/e, and 1 more');
    expect(got.message).not.toContain('ingress/f');
  });
});

describe('conflictMessage', () => {
  it('names spec.selector, the other App and the pod both select', () => {
    const app = makeApp('www', { selector: { matchLabels: { team: 'x' } } });
    const text = conflictMessage(app, [{ app: 'billing', pod: 'billing-1' }, { app: 'ledger' }]);
    expect(text).toContain('spec.selector "team=x"');
    expect(text).toContain('App "billing" (pod billing-1 carries the labels of both)');
    expect(text).toContain('App "ledger"');
    expect(text).toMatch(/change spec.selector/);
  });
});

describe('ignoredDiscoveryCondition', () => {
  const fir = makeSpace('acme', { generation: 'fir' });
  const cedar = makeSpace('acme');

  it('names spec.dnsDiscovery when a fir App keeps a stored true', () => {
    const got = ignoredDiscoveryCondition(makeApp('billing', { dnsDiscovery: true }), fir);
    expect(got).toMatchObject({ type: 'DnsDiscovery', status: 'False', reason: 'IgnoredOnFir' });
    expect(got?.message).toContain('spec.dnsDiscovery: true ignored: fir Spaces have no DNS discovery');
  });

  it('is absent on cedar, and on fir when the App does not ask for discovery', () => {
    expect(ignoredDiscoveryCondition(makeApp('billing', { dnsDiscovery: true }), cedar)).toBeUndefined();
    expect(ignoredDiscoveryCondition(makeApp('billing', {}), fir)).toBeUndefined();
    expect(ignoredDiscoveryCondition(makeApp('billing', { dnsDiscovery: false }), fir)).toBeUndefined();
  });
});

describe('withChildren', () => {
  const obj = (kind: string, name: string, resourceVersion: string): KubernetesObject => ({
    kind,
    metadata: { name, namespace: 'acme', resourceVersion },
  });
  const cachedPolicy = obj('NetworkPolicy', 'shop', '1');
  const tenants = obj('NetworkPolicy', 'tenant', '2');
  const cached = [cachedPolicy, tenants];
  const cache = {
    list: () => cached,
    get: (key: string) => cached.find((o) => `acme/${o.metadata?.name}` === key),
  };

  it('is the cached list itself while the cache shows every child as it is', () => {
    const got = withChildren(cache, 'acme', [obj('Service', 'shop', '3'), cachedPolicy], 'NetworkPolicy');
    expect(got.list).toBe(cached);
    expect(got.written).toBeUndefined();
  });

  it('puts a written child in place of the cached one of its name, and adds a new one', () => {
    const newer = obj('NetworkPolicy', 'shop', '5');
    const added = obj('NetworkPolicy', 'shop-web', '6');
    const got = withChildren(cache, 'acme', [obj('Service', 'shop', '3'), newer, added], 'NetworkPolicy');
    // Where the cache has it (the order its next list will have), the new one after the rest.
    expect(got.list).toEqual([newer, tenants, added]);
    expect(got.written).toEqual([newer, added]);
    expect(cached).toEqual([cachedPolicy, tenants]);
  });

  it('adds children the cache does not have yet after the cached list (a new App)', () => {
    const added = obj('NetworkPolicy', 'shop-web', '6');
    const got = withChildren(cache, 'acme', [added], 'NetworkPolicy');
    expect(got.list).toEqual([cachedPolicy, tenants, added]);
    expect(got.written).toEqual([added]);
    expect(cached).toHaveLength(2);
  });
});
