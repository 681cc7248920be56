import { describe, expect, it } from 'vitest';
import { appNetworkPolicy, appService, spaceDefaultDeny, spaceNamespace } from '../../model/index.ts';
import { decide } from '../admission.ts';
import {
  app,
  memLookup,
  namespace,
  request,
  space,
  type World,
} from '../../../test/support/webhook-fixtures.ts';
import type { Decision, KubeObject } from '../types.ts';
import { caBundleConfigMap, servingSecret } from '../../tls/objects.ts';
import { buildHandlers } from './index.ts';
import { finalizersOnly, GARBAGE_COLLECTOR, NAMESPACE_CONTROLLER, operatorOwner } from './owned.ts';

const OPERATOR = 'system:serviceaccount:spaces-system:spaces-operator';
const TENANT = 'system:serviceaccount:acme:tenant';
const acme = space('acme');
const billing = app('acme', 'billing', { internalRouting: true });
const svc = appService(billing, acme) as unknown as KubeObject;
const policy = appNetworkPolicy(billing, acme, []) as unknown as KubeObject;
const deny = spaceDefaultDeny(acme) as unknown as KubeObject;
const ns = spaceNamespace(acme) as unknown as KubeObject;
const tlsSecret = servingSecret(billing, 'acme', { cert: 'C', key: 'K' }, 'B') as unknown as KubeObject;
const bundle = caBundleConfigMap(acme, 'acme', 'B') as unknown as KubeObject;

const clone = <T>(o: T): T => structuredClone(o);

function world(extra: Partial<World> = {}): World {
  return { spaces: [acme], apps: [billing], policies: [policy, deny] as never[], ...extra };
}

async function run(w: World, ...args: Parameters<typeof request>): Promise<Decision> {
  return decide(request(...args), buildHandlers(memLookup(w), { operator: { username: OPERATOR } }));
}

function message(d: Decision): string {
  expect(d.allowed).toBe(false);
  return d.allowed ? '' : d.message;
}

describe('operatorOwner', () => {
  it('needs both the managed-by label and a controller reference to a Space or App', () => {
    expect(operatorOwner(svc)).toEqual({ kind: 'App', name: 'billing', uid: 'uid-billing' });
    expect(operatorOwner(deny)).toEqual({ kind: 'Space', name: 'acme', uid: 'uid-acme' });
    const unlabelled = clone(svc);
    delete unlabelled.metadata!.labels!['app.kubernetes.io/managed-by'];
    expect(operatorOwner(unlabelled)).toBeUndefined();
    const noRef = clone(svc);
    noRef.metadata!.ownerReferences = [];
    expect(operatorOwner(noRef)).toBeUndefined();
    const notController = clone(svc);
    notController.metadata!.ownerReferences = [
      { ...(svc.metadata!.ownerReferences![0] as object), controller: false },
    ];
    expect(operatorOwner(notController)).toBeUndefined();
    const otherGroup = clone(svc);
    otherGroup.metadata!.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'App', name: 'x', controller: true },
    ];
    expect(operatorOwner(otherGroup)).toBeUndefined();
  });
});

describe('the ownership lock (attacks 9 and 11)', () => {
  it.each([
    ['Service', svc, 'App "acme/billing"'],
    ['NetworkPolicy', policy, 'App "acme/billing"'],
    ['NetworkPolicy', deny, 'Space "acme"'],
    ['Namespace', ns, 'Space "acme"'],
    ['Secret', tlsSecret, 'App "acme/billing"'],
    ['ConfigMap', bundle, 'Space "acme"'],
  ])("refuses a tenant's DELETE of the operator's %s", async (kind, obj, owner) => {
    const m = message(await run(world(), 'DELETE', obj, undefined, TENANT));
    expect(m).toContain(`is managed by spaces-operator for ${owner}`);
    expect(m).toContain(`delete ${owner} to remove it`);
    expect(m).toContain(kind);
  });

  it("refuses adding an egress rule or matchExpressions to the App's policy, naming what to change", async () => {
    const egress = clone(policy);
    (egress['spec'] as Record<string, unknown>)['egress'] = [{}];
    const m = message(await run(world(), 'UPDATE', egress, policy, TENANT));
    expect(m).toBe(
      'NetworkPolicy "acme/app-billing" is managed by spaces-operator for App "acme/billing": only the operator ' +
        'may change it; change App "acme/billing" instead (the operator renders this NetworkPolicy from it; ' +
        'labels and owner references included)',
    );
    const widened = clone(policy);
    (widened['spec'] as { podSelector: object }).podSelector = {
      matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }],
    };
    expect((await run(world(), 'UPDATE', widened, policy, TENANT)).allowed).toBe(false);
  });

  it("refuses a tenant's change to the App's TLS Secret or the Space's CA bundle; the operator passes", async () => {
    const swapped = clone(tlsSecret);
    (swapped as { data: Record<string, string> }).data['tls.crt'] = 'other';
    expect(message(await run(world(), 'UPDATE', swapped, tlsSecret, TENANT))).toContain(
      'Secret "acme/billing-tls" is managed by spaces-operator for App "acme/billing"',
    );
    const other = clone(bundle);
    (other as { data: Record<string, string> }).data['ca.crt'] = 'attacker CA';
    expect((await run(world(), 'UPDATE', other, bundle, TENANT)).allowed).toBe(false);
    expect(await run(world(), 'UPDATE', swapped, tlsSecret, OPERATOR)).toEqual({ allowed: true });
  });

  it("lets a tenant create and change an own Secret carrying the label: it is not the operator's", async () => {
    const mine = clone(tlsSecret);
    mine.metadata!.ownerReferences = [];
    expect(await run(world(), 'CREATE', mine, undefined, TENANT)).toEqual({ allowed: true });
    expect(await run(world(), 'DELETE', mine, undefined, TENANT)).toEqual({ allowed: true });
  });

  it('refuses stripping the label or the owner reference (the OLD object decides)', async () => {
    const stripped = clone(svc);
    stripped.metadata!.labels = {};
    expect(message(await run(world(), 'UPDATE', stripped, svc, TENANT))).toContain(
      'managed by spaces-operator',
    );
    const orphaned = clone(policy);
    orphaned.metadata!.ownerReferences = [];
    expect((await run(world(), 'UPDATE', orphaned, policy, TENANT)).allowed).toBe(false);
  });

  it('refuses a tenant labelling a Service or NetworkPolicy as managed by the operator (CREATE and UPDATE)', async () => {
    const spoof = clone(policy);
    spoof.metadata = {
      name: 'fake',
      namespace: 'acme',
      labels: { 'app.kubernetes.io/managed-by': 'spaces-operator' },
    };
    expect(message(await run(world(), 'CREATE', spoof, undefined, TENANT))).toContain(
      'metadata.labels["app.kubernetes.io/managed-by"]: "spaces-operator"',
    );
    const plain = clone(spoof);
    plain.metadata!.labels = {};
    expect((await run(world(), 'UPDATE', spoof, plain, TENANT)).allowed).toBe(false);
  });

  it('lets a tenant edit an own object that already carried the label but has no operator owner', async () => {
    const legacy: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'mine',
        namespace: 'acme',
        labels: { 'app.kubernetes.io/managed-by': 'spaces-operator' },
      },
      spec: { selector: { a: 'b' }, ports: [{ port: 80 }] },
    };
    const next = clone(legacy);
    next.metadata!.annotations = { note: 'x' };
    expect(await run(world(), 'UPDATE', next, legacy, TENANT)).toEqual({ allowed: true });
    expect(await run(world(), 'DELETE', legacy, undefined, TENANT)).toEqual({ allowed: true });
  });

  it('lets the operator, the garbage collector and the namespace controller (deleting) through', async () => {
    const edited = clone(policy);
    (edited['spec'] as Record<string, unknown>)['egress'] = [{}];
    expect(await run(world(), 'UPDATE', edited, policy, OPERATOR)).toEqual({ allowed: true });
    expect(await run(world(), 'DELETE', svc, undefined, OPERATOR)).toEqual({ allowed: true });
    expect(await run(world(), 'DELETE', svc, undefined, GARBAGE_COLLECTOR)).toEqual({ allowed: true });
    const orphaned = clone(svc);
    orphaned.metadata!.ownerReferences = [];
    expect(await run(world(), 'UPDATE', orphaned, svc, GARBAGE_COLLECTOR)).toEqual({ allowed: true });
    expect(await run(world(), 'DELETE', deny, undefined, NAMESPACE_CONTROLLER)).toEqual({ allowed: true });
    expect((await run(world(), 'UPDATE', edited, policy, NAMESPACE_CONTROLLER)).allowed).toBe(false);
  });

  it('lets anyone delete or un-own the children of a Space or App that is gone or being deleted', async () => {
    expect(await run(world({ apps: [] }), 'DELETE', svc, undefined, TENANT)).toEqual({ allowed: true });
    const replaced = { ...billing, metadata: { ...billing.metadata, uid: 'another' } };
    expect(await run(world({ apps: [replaced] }), 'DELETE', policy, undefined, TENANT)).toEqual({
      allowed: true,
    });
    const deleting = {
      ...billing,
      metadata: { ...billing.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' },
    };
    const orphaned = clone(svc);
    orphaned.metadata!.ownerReferences = [];
    expect(await run(world({ apps: [deleting] }), 'UPDATE', orphaned, svc, TENANT)).toEqual({
      allowed: true,
    });
    expect(await run(world({ spaces: [] }), 'DELETE', deny, undefined, TENANT)).toEqual({ allowed: true });
    expect((await run(world(), 'DELETE', deny, undefined, TENANT)).allowed).toBe(false);
    expect(await run(world(), 'DELETE', deny, undefined, 'system:kube-controller-manager')).toEqual({
      allowed: true,
    });
  });

  it('lets a kube-system controller change only finalizers, nobody else', async () => {
    const fin = clone(svc);
    fin.metadata!['finalizers'] = ['service.kubernetes.io/load-balancer-cleanup'];
    const controller = 'system:serviceaccount:kube-system:service-controller';
    expect(await run(world(), 'UPDATE', fin, svc, controller)).toEqual({ allowed: true });
    expect((await run(world(), 'UPDATE', fin, svc, TENANT)).allowed).toBe(false);
    const annotated = clone(fin);
    annotated.metadata!.annotations = { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'false' };
    expect((await run(world(), 'UPDATE', annotated, svc, controller)).allowed).toBe(false);
  });

  it('lets anything through in a terminating namespace', async () => {
    const terminating = namespace('acme', { 'privatespaces.dev/space': 'acme' });
    terminating.status = { phase: 'Terminating' };
    expect(await run(world({ namespaces: [terminating] }), 'DELETE', policy, undefined, TENANT)).toEqual({
      allowed: true,
    });
    const deleting = clone(ns);
    deleting.metadata!['deletionTimestamp'] = '2026-01-01T00:00:00Z';
    const annotated = clone(deleting);
    annotated.metadata!.annotations = { note: 'x' };
    expect(await run(world(), 'UPDATE', annotated, deleting, TENANT)).toEqual({ allowed: true });
    expect((await run(world(), 'UPDATE', annotated, ns, TENANT)).allowed).toBe(false);
  });

  it('leaves objects the operator does not own to their own checks', async () => {
    const mine: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'mine', namespace: 'acme' },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] },
    };
    expect(await run(world(), 'CREATE', mine, undefined, TENANT)).toEqual({ allowed: true });
    expect(
      await run(world({ policies: [mine, policy, deny] as never[] }), 'DELETE', mine, undefined, TENANT),
    ).toEqual({
      allowed: true,
    });
  });
});

describe('finalizersOnly', () => {
  it('ignores finalizers, status and server metadata, nothing else', () => {
    const a = clone(svc);
    const b = clone(svc);
    b.metadata!['finalizers'] = ['x'];
    b.metadata!['resourceVersion'] = '9';
    b['status'] = { loadBalancer: {} };
    expect(finalizersOnly(b, a)).toBe(true);
    b.metadata!.labels = { ...b.metadata!.labels, extra: 'y' };
    expect(finalizersOnly(b, a)).toBe(false);
  });
});
