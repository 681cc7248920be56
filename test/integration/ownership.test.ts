// Issue 16, attacks 9, 11 and 12, against the real apiserver: the operator runs in-process as its
// own ServiceAccount with its webhook on 127.0.0.1 (registered by URL), and the attacker is a
// tenant: a ServiceAccount of the Space's namespace bound to the built-in `edit` ClusterRole,
// using kubectl the way a person would.
// 1. The ownership lock. The Space's default-deny, the App's NetworkPolicy and Service cannot be
//    deleted, patched, labelled, replaced or server-side applied over by the tenant (every
//    refusal names the object and the App/Space to change); 30 rounds of parallel deletes of
//    default-deny and app-billing never remove either, not for a moment (their uids never change,
//    the Service keeps its ClusterIP). Labelling an own policy as the operator's is refused; the
//    tenant's own policies stay the tenant's to create and delete.
// 2. Canonical CIDRs: `010.0.0.0/8` and `0.0.0.0/00` are refused in the Space and in a namespace
//    of no Space (cidrs.privatespaces.dev), each naming the field and the canonical form.
// 3. Full revert: with the webhook configuration deleted (the operator re-registers it only
//    hourly), an admin's (or a webhook-less tenant's) `egress` and `matchExpressions` added to
//    app-billing and a field added to the Service are reverted by the operator within seconds,
//    the Service keeping its ClusterIP.
// afterAll deletes the configuration first, then stops the operator.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAccountKubeconfig, type KubectlResult } from '../../tools/harness/kubectl.ts';
import type { Operator } from '../../src/operator.ts';
import { WEBHOOK_CONFIGURATION_NAME } from '../../src/webhook/index.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { getJson, kubectl, appProbe, waitFor } from '../support/kube.ts';
import { startOperatorWithWebhook } from '../support/operator.ts';

const kubeconfig = testKubeconfig();
const id = Date.now().toString(36);
const OPS = `owop-${id}`;
const SPACE = `own-${id}`;
const PLAIN = `owp-${id}`;
const OCTET = 100 + (Date.now() % 100);
const CIDR = `10.${OCTET}.0.0/16`;
const ROUNDS = 30;

let op: Operator | undefined;
let tenantConfig = '';
let dir = '';

const admin = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);
const tenant = (args: string[], input?: string): Promise<KubectlResult> => kubectl(tenantConfig, args, input);

async function ok(r: Promise<KubectlResult>): Promise<string> {
  const res = await r;
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
}

/**
 * Expects a refusal by one of the named webhooks; returns stderr on one line. A NetworkPolicy of a
 * Space namespace goes to both owned and workloads (one handler behind both): whichever the
 * apiserver hears from first is the one kubectl shows.
 */
async function refusedBy(r: Promise<KubectlResult>, webhooks = 'owned|workloads'): Promise<string> {
  const res = await r;
  expect(res.code, `should be refused; stdout: ${res.stdout}`).not.toBe(0);
  const msg = res.stderr.replace(/\s+/g, ' ');
  expect(msg).toMatch(
    new RegExp(`admission webhook "(${webhooks})\\.privatespaces\\.dev" denied the request`),
  );
  return msg;
}

interface Live {
  uid: string;
  spec: any;
  labels: Record<string, string>;
}
async function live(kind: string, name: string): Promise<Live | undefined> {
  const o = await getJson(kubeconfig, [kind, name, '-n', SPACE]);
  return o ? { uid: o.metadata.uid, spec: o.spec, labels: o.metadata.labels ?? {} } : undefined;
}

const LOCK = `is managed by spaces-operator for`;
let denyUid = '';
let policyUid = '';
let serviceUid = '';
let clusterIP = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-owned-'));
  await ok(admin(['create', 'namespace', OPS]));
  await ok(admin(['create', 'namespace', PLAIN]));
  ({ op } = await startOperatorWithWebhook(kubeconfig, {
    namespace: OPS,
    probe: { run: admin, yaml: appProbe(PLAIN) },
  }));
  await ok(
    admin(
      ['apply', '-f', '-'],
      `apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: ${SPACE} }
spec: { cidr: ${CIDR}, region: us, trustedIPRanges: [203.0.113.0/24] }
`,
    ),
  );
  await ok(admin(['wait', '--for=condition=Ready', `space/${SPACE}`, '--timeout=60s']));
  await ok(
    admin(
      ['apply', '-f', '-'],
      `apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: billing, namespace: ${SPACE} }
spec: { internalRouting: true, port: 5000 }
`,
    ),
  );
  await ok(
    admin(['wait', '--for=condition=Ready', 'apps.privatespaces.dev/billing', '-n', SPACE, '--timeout=60s']),
  );
  // The tenant: `edit` in the Space's namespace, nothing else.
  await ok(admin(['create', 'serviceaccount', 'tenant', '-n', SPACE]));
  await ok(
    admin([
      'create',
      'rolebinding',
      'tenant-edit',
      '--clusterrole=edit',
      `--serviceaccount=${SPACE}:tenant`,
      '-n',
      SPACE,
    ]),
  );
  tenantConfig = await serviceAccountKubeconfig(
    kubeconfig,
    { namespace: SPACE, name: 'tenant' },
    path.join(dir, 'tenant.kubeconfig'),
  );
  const [d, p, s] = await Promise.all([
    live('networkpolicy', 'space-default-deny'),
    live('networkpolicy', 'app-billing'),
    live('service', 'billing'),
  ]);
  denyUid = d!.uid;
  policyUid = p!.uid;
  serviceUid = s!.uid;
  clusterIP = s!.spec.clusterIP;
  expect(clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
});

afterAll(async () => {
  await admin(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '--ignore-not-found']);
  await op?.stop();
  await admin(['delete', 'namespace', OPS, PLAIN, SPACE, '--ignore-not-found', '--wait=false']);
  await admin(['delete', 'clusterrolebinding', OPS, '--ignore-not-found']);
});

describe('the ownership lock (attacks 9 and 11)', () => {
  it('the tenant may read the policies (so the refusals below are the webhook, not RBAC)', async () => {
    await ok(tenant(['get', 'networkpolicy', 'app-billing', '-n', SPACE]));
    const can = await tenant(['auth', 'can-i', 'delete', 'networkpolicies', '-n', SPACE]);
    expect(can.stdout.trim()).toBe('yes');
  });

  it(`${ROUNDS} rounds of parallel deletes of default-deny and app-billing: all refused, never missing`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all([
        tenant(['delete', 'networkpolicy', 'space-default-deny', '-n', SPACE, '--wait=false']),
        tenant(['delete', 'networkpolicy', 'app-billing', '-n', SPACE, '--wait=false']),
      ]);
      for (const r of results) {
        expect(r.code, `round ${round}: ${r.stdout}`).not.toBe(0);
        expect(r.stderr).toContain(LOCK);
      }
    }
    // Had either been deleted even once, the operator would have recreated it with a new uid.
    expect((await live('networkpolicy', 'space-default-deny'))?.uid).toBe(denyUid);
    expect((await live('networkpolicy', 'app-billing'))?.uid).toBe(policyUid);
  });

  it('kubectl delete --all, --dry-run=server and the Service: refused, naming what to delete instead', async () => {
    const all = await tenant(['delete', 'networkpolicy', '--all', '-n', SPACE]);
    expect(all.code).not.toBe(0);
    expect(all.stderr).toContain(LOCK);
    const dry = await refusedBy(
      tenant(['delete', 'networkpolicy', 'app-billing', '-n', SPACE, '--dry-run=server']),
    );
    expect(dry).toContain(
      `NetworkPolicy "${SPACE}/app-billing" is managed by spaces-operator for App "${SPACE}/billing": ` +
        `only the operator may delete it; delete App "${SPACE}/billing" to remove it`,
    );
    const svc = await refusedBy(tenant(['delete', 'service', 'billing', '-n', SPACE]), 'owned');
    expect(svc).toContain(`Service "${SPACE}/billing" ${LOCK} App "${SPACE}/billing"`);
    const deny = await refusedBy(tenant(['delete', 'networkpolicy', 'space-default-deny', '-n', SPACE]));
    expect(deny).toContain(`${LOCK} Space "${SPACE}"`);
    const s = await live('service', 'billing');
    expect(s?.uid).toBe(serviceUid);
    expect(s?.spec.clusterIP).toBe(clusterIP);
  });

  it('patch (egress, matchExpressions), label removal, replace and server-side apply: refused', async () => {
    const egress = await refusedBy(
      tenant([
        'patch',
        'networkpolicy',
        'app-billing',
        '-n',
        SPACE,
        '--type=merge',
        '-p',
        '{"spec":{"egress":[{}]}}',
      ]),
    );
    expect(egress).toContain(`only the operator may change it; change App "${SPACE}/billing" instead`);
    const expr = JSON.stringify({
      spec: { podSelector: { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] } },
    });
    await refusedBy(
      tenant(['patch', 'networkpolicy', 'app-billing', '-n', SPACE, '--type=merge', '-p', expr]),
    );
    await refusedBy(
      tenant(['label', 'networkpolicy', 'app-billing', '-n', SPACE, 'app.kubernetes.io/managed-by-']),
    );
    await refusedBy(
      tenant([
        'patch',
        'networkpolicy',
        'space-default-deny',
        '-n',
        SPACE,
        '--type=json',
        '-p',
        '[{"op":"remove","path":"/metadata/ownerReferences"}]',
      ]),
    );
    await refusedBy(tenant(['annotate', 'service', 'billing', '-n', SPACE, 'note=mine']), 'owned');
    const got = await ok(tenant(['get', 'networkpolicy', 'app-billing', '-n', SPACE, '-o', 'json']));
    const obj = JSON.parse(got);
    obj.spec.egress = [{}];
    await refusedBy(tenant(['replace', '-f', '-'], JSON.stringify(obj)));
    const ssa = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: app-billing, namespace: ${SPACE} }
spec:
  podSelector: { matchExpressions: [{ key: privatespaces.dev/app, operator: Exists }] }
  egress: [{}]
`;
    await refusedBy(tenant(['apply', '--server-side', '--force-conflicts', '-f', '-'], ssa));
    const p = await live('networkpolicy', 'app-billing');
    expect(p?.spec.egress).toBeUndefined();
    expect(p?.spec.podSelector.matchExpressions).toBeUndefined();
  });

  it("labelling a policy as the operator's is refused; the tenant's own policies stay the tenant's", async () => {
    const spoof = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: mine, namespace: ${SPACE}, labels: { app.kubernetes.io/managed-by: spaces-operator } }
spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }
`;
    const msg = await refusedBy(tenant(['apply', '-f', '-'], spoof));
    expect(msg).toContain('metadata.labels["app.kubernetes.io/managed-by"]: "spaces-operator"');
    await ok(tenant(['apply', '-f', '-'], spoof.replace(/labels: \{[^}]*\} /, '')));
    await refusedBy(
      tenant(['label', 'networkpolicy', 'mine', '-n', SPACE, 'app.kubernetes.io/managed-by=spaces-operator']),
    );
    // Deleting it narrows reach only: the undeletable default-deny still isolates every pod.
    await ok(tenant(['delete', 'networkpolicy', 'mine', '-n', SPACE]));
  });
});

describe('canonical CIDRs only (attack 12)', () => {
  const policy = (ns: string, cidr: string): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: odd-cidr, namespace: ${ns} }
spec:
  podSelector: { matchLabels: { tier: web } }
  ingress: [{ from: [{ podSelector: {} }, { ipBlock: { cidr: "${cidr}" } }] }]
`;

  it('refuses 010.0.0.0/8 in the Space, naming the field and the canonical form', async () => {
    const msg = await refusedBy(tenant(['apply', '-f', '-'], policy(SPACE, '010.0.0.0/8')), 'workloads');
    expect(msg).toContain(
      'spec.ingress[0].from[1].ipBlock.cidr: "010.0.0.0/8" is not canonical; write 10.0.0.0/8',
    );
  });

  it('refuses 0.0.0.0/00 in a namespace of no Space (the whole node is at stake)', async () => {
    const msg = await refusedBy(admin(['apply', '-f', '-'], policy(PLAIN, '0.0.0.0/00')), 'cidrs');
    expect(msg).toContain('"0.0.0.0/00" is not canonical; write 0.0.0.0/0');
    const egress = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: odd-egress, namespace: ${PLAIN} }
spec: { podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: 10.0.0.0/8, except: [10.1.2.3/16] } }] }] }
`;
    const ex = await refusedBy(admin(['apply', '-f', '-'], egress), 'cidrs');
    expect(ex).toContain(
      'spec.egress[0].to[0].ipBlock.except[0]: "10.1.2.3/16" is not canonical; write 10.1.0.0/16',
    );
  });

  it('accepts canonical CIDRs there, and policies without ipBlocks are not even sent', async () => {
    await ok(admin(['apply', '-f', '-'], policy(PLAIN, '10.0.0.0/8')));
    await ok(admin(['delete', 'networkpolicy', 'odd-cidr', '-n', PLAIN]));
  });
});

describe('full revert when the webhook was bypassed (attack 11, defence in depth)', () => {
  it('egress, matchExpressions and a Service field added past the webhook are reverted; the ClusterIP stays', async () => {
    await ok(admin(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME]));
    // Without the configuration the tenant's writes go through, until the apiserver notices.
    const patch = JSON.stringify({
      spec: { egress: [{}], podSelector: { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] } },
    });
    await waitFor(
      'the webhook configuration gone',
      async () =>
        (await tenant(['patch', 'networkpolicy', 'app-billing', '-n', SPACE, '--type=merge', '-p', patch]))
          .code === 0,
      15_000,
    );
    await ok(
      tenant([
        'patch',
        'service',
        'billing',
        '-n',
        SPACE,
        '--type=merge',
        '-p',
        '{"spec":{"publishNotReadyAddresses":true}}',
      ]),
    );
    await waitFor(
      'app-billing reverted',
      async () => {
        const p = await live('networkpolicy', 'app-billing');
        return p?.spec.egress === undefined && p?.spec.podSelector.matchExpressions === undefined;
      },
      20_000,
    );
    await waitFor(
      'the Service reverted',
      async () => (await live('service', 'billing'))?.spec.publishNotReadyAddresses !== true,
      20_000,
    );
    const p = await live('networkpolicy', 'app-billing');
    expect(p?.uid).toBe(policyUid);
    expect(p?.spec.podSelector).toEqual({ matchLabels: { 'privatespaces.dev/app': 'billing' } });
    const s = await live('service', 'billing');
    expect(s?.uid).toBe(serviceUid);
    expect(s?.spec.clusterIP).toBe(clusterIP);
  });
});
