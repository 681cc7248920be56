// Issue 16's attacks that need no packets, played against the real apiserver by the tenant itself:
// every request below is a `kubectl` run with a ServiceAccount's own token (TokenRequest), never
// the admin's. The operator runs in-process with its webhook on 127.0.0.1, as its own
// ServiceAccount (the webhook skips the operator's user only).
//
// Cast (docs/TENANCY.md):
//   dev     `edit` in Space namespace A (+ privatespaces-developer by aggregation): the developer
//   peerer  dev's rights plus privatespaces-peering-editor in A (the tester)
//   owner   privatespaces-space-admin (ClusterRoleBinding): the Space admin
// Space A: internal App `billing` (pod billing-1, labels app=billing, process=web, tier=backend,
// container port 5000 named http), external App `www`, Peering `office` (192.168.77.0/24).
// A Node object (no kubelet) gives the cluster a pod CIDR and an address to protect.
//
// Each case ends one of two ways, and the test says which it saw:
//   refused   the request failed at RBAC, Pod Security, CEL or the webhook; a `--dry-run=server`
//             of the same request gets the same verdict and nothing is created;
//   exposed   admitted, and within seconds the internal App reports Exposed=True (level-triggered
//             status from live objects), since nothing without packets can show it harmless.
// Packets are in test/dataplane/adversarial.test.ts.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { serviceAccountKubeconfig, type KubectlResult } from '../../tools/harness/kubectl.ts';
import type { Operator } from '../../src/operator.ts';
import { WEBHOOK_CONFIGURATION_NAME } from '../../src/webhook/index.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { getJson, kubectl, appProbe, waitFor, expectKubectl } from '../support/kube.ts';
import { startOperatorWithWebhook } from '../support/operator.ts';

const kubeconfig = testKubeconfig();
const id = Date.now().toString(36);
const OPS = `advop-${id}`; // the operator's namespace
const A = `adv-${id}`; // the Space, and its namespace
const LEGACY = `legacy-${id}`; // a namespace that predates every Space
const OLD = `old-${id}`; // a namespace with objects of its own, adopted by a Space (opt-in)
const NODE = `adv-node-${id}`;
const POD_CIDR = '10.244.7.0/24';
const NODE_IP = '172.20.0.5';
const PEER = '192.168.77.0/24';
const who = ['dev', 'peerer', 'owner'] as const;
type Who = (typeof who)[number];
const configs = new Map<Who, string>();
let op: Operator | undefined;

const admin = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);
const { ok } = expectKubectl(admin);
const as = (w: Who, args: string[], input?: string): Promise<KubectlResult> =>
  kubectl(configs.get(w) ?? '', args, input);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- verdicts -------------------------------------------------------------------------------------

type Verdict = 'ok' | 'forbidden' | 'podsecurity' | 'webhook' | 'invalid';

function classify(r: KubectlResult): Verdict {
  if (r.code === 0) return 'ok';
  const e = r.stderr;
  if (/violates PodSecurity/.test(e)) return 'podsecurity';
  if (/admission webhook "[^"]+" denied the request/.test(e)) return 'webhook';
  if (/forbidden/i.test(e)) return 'forbidden';
  return 'invalid';
}

/**
 * Runs `args` as `w`, first with --dry-run=server, then for real. Both must be refused with the
 * same verdict; returns it with the message.
 */
async function refusedAs(w: Who, args: string[], input?: string): Promise<{ verdict: Verdict; msg: string }> {
  const dry = await as(w, [...args, '--dry-run=server'], input);
  const real = await as(w, args, input);
  const msg = real.stderr.replace(/\s+/g, ' ');
  expect(classify(real), `should be refused; stdout: ${real.stdout}`).not.toBe('ok');
  expect(classify(dry), `dry run: ${dry.stderr}`).toBe(classify(real));
  report(args, classify(real), msg);
  return { verdict: classify(real), msg };
}
/** ADVERSARIAL_VERBOSE=1 prints each verdict and message (what the report to the coordinator quotes). */
function report(args: string[], verdict: Verdict, msg: string): void {
  if (process.env['ADVERSARIAL_VERBOSE']) console.log(`[${verdict}] ${args.join(' ')}: ${msg.slice(0, 400)}`);
}
const applyAs = (w: Who, yaml: string): Promise<KubectlResult> => as(w, ['apply', '-f', '-'], yaml);
const refusedYaml = (w: Who, yaml: string): Promise<{ verdict: Verdict; msg: string }> =>
  refusedAs(w, ['apply', '-f', '-'], yaml);

const exposedCondition = async (app: string): Promise<string | undefined> => {
  const a = await getJson(kubeconfig, ['apps.privatespaces.dev', app, '-n', A]);
  return a?.status?.conditions?.find((c: { type: string }) => c.type === 'Exposed')?.status as
    string | undefined;
};

/** The request, as `w`: refused at admission, or admitted and then the App reports Exposed=True. */
async function refusedOrExposed(w: Who, yaml: string, app = 'billing'): Promise<'refused' | 'exposed'> {
  const r = await applyAs(w, yaml);
  if (r.code !== 0) {
    expect(classify(r), r.stderr).not.toBe('invalid');
    report(['apply'], classify(r), r.stderr);
    return 'refused';
  }
  await waitFor(
    `App ${app} Exposed=True after: ${yaml}`,
    async () => (await exposedCondition(app)) === 'True',
    20_000,
  );
  return 'exposed';
}

/** Applies each step as `w`; the first refused ends the attack there, else `app` must report Exposed=True. */
async function chain(w: Who, steps: string[], target: string): Promise<'refused' | 'exposed'> {
  for (const [i, yaml] of steps.entries()) {
    const last = i === steps.length - 1;
    if (last) return refusedOrExposed(w, yaml, target);
    const r = await applyAs(w, yaml);
    if (r.code !== 0) {
      expect(classify(r), r.stderr).not.toBe('invalid');
      report(['step', String(i)], classify(r), r.stderr);
      return 'refused';
    }
  }
  throw new Error('an attack needs at least one step');
}

// ---- YAML, as a tenant writes it -----------------------------------------------------------------

const policy = (name: string, podSelector: string, ingress: string): string =>
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: ${A} }
spec:
  podSelector: ${podSelector}
  policyTypes: [Ingress]
  ingress: ${ingress}
`;
const BILLING = '{ matchLabels: { privatespaces.dev/app: billing } }';
const pod = (name: string, labels: string, spec = ''): string =>
  `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${A}, labels: ${labels} }
spec:
  ${spec}
  containers: [{ name: web, image: registry.invalid/web:1, ports: [{ name: http, containerPort: 5000 }] }]
`;
const service = (name: string, type: string, selector: string, extra = ''): string =>
  `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${A} }
spec: { type: ${type}, selector: ${selector}, ports: [{ port: 80, targetPort: 5000 }]${extra} }
`;
const app = (name: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: { name: ${name}, namespace: ${A} }\nspec: ${spec}\n`;
const peering = (name: string, cidrs: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Peering\nmetadata: { name: ${name}, namespace: ${A} }\nspec: { type: vpc, cidrs: ${cidrs} }\n`;
const space = (name: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
const HOSTNET_TEMPLATE = `metadata: { labels: { role: sidecar } }
spec:
  hostNetwork: true
  restartPolicy: RESTART
  containers: [{ name: c, image: registry.invalid/c:1 }]`;
/** The hostNetwork pod template, indented by `n` spaces, with its restart policy. */
const hostnetTemplate = (n: number, restart: string): string =>
  HOSTNET_TEMPLATE.replace('RESTART', restart).replace(/\n/g, `\n${' '.repeat(n)}`);

// ---- setup ----------------------------------------------------------------------------------------

async function accountKubeconfig(name: string, dir: string): Promise<string> {
  return serviceAccountKubeconfig(kubeconfig, { namespace: A, name }, path.join(dir, `${name}.kubeconfig`));
}

async function addNode(): Promise<void> {
  await ok(
    ['apply', '-f', '-'],
    `apiVersion: v1\nkind: Node\nmetadata: { name: ${NODE} }\nspec: { podCIDR: ${POD_CIDR}, podCIDRs: [${POD_CIDR}] }\n`,
  );
  await ok([
    'patch',
    'node',
    NODE,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] } }),
  ]);
}

async function bindTenants(): Promise<void> {
  for (const w of who) await ok(['create', 'serviceaccount', w, '-n', A]);
  const sa = (w: Who): string => `--serviceaccount=${A}:${w}`;
  await ok(['create', 'rolebinding', 'dev-edit', '--clusterrole=edit', sa('dev'), '-n', A]);
  await ok(['create', 'rolebinding', 'peerer-edit', '--clusterrole=edit', sa('peerer'), '-n', A]);
  await ok([
    'create',
    'rolebinding',
    'peerer-peering',
    '--clusterrole=privatespaces-peering-editor',
    sa('peerer'),
    '-n',
    A,
  ]);
  await ok([
    'create',
    'clusterrolebinding',
    `adv-owner-${id}`,
    '--clusterrole=privatespaces-space-admin',
    sa('owner'),
  ]);
}

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-adv-'));
  await ok(['apply', '-f', path.join(repoRoot, 'deploy/tenancy.yaml')]);
  await ok(['create', 'namespace', OPS]);
  await ok(['create', 'namespace', LEGACY]);
  await ok(['create', 'configmap', 'precious', '-n', LEGACY, '--from-literal=data=keep']);
  await addNode();
  ({ op } = await startOperatorWithWebhook(kubeconfig, {
    namespace: OPS,
    probe: { run: admin, yaml: appProbe(LEGACY) },
  }));
  await ok(
    ['apply', '-f', '-'],
    space(A, '{ cidr: 10.61.0.0/16, region: us, trustedIPRanges: [203.0.113.0/24] }'),
  );
  await ok(['wait', '--for=condition=Ready', `space/${A}`, '--timeout=60s']);
  await bindTenants();
  for (const w of who) configs.set(w, await accountKubeconfig(w, dir));
  await ok(
    ['apply', '-f', '-'],
    [
      app('billing', '{ internalRouting: true, port: 5000 }'),
      app('www', '{ internalRouting: false, port: 8080 }'),
      peering('office', `[${PEER}]`),
      pod('billing-1', '{ privatespaces.dev/app: billing, privatespaces.dev/process: web, tier: backend }'),
    ].join('---\n'),
  );
  for (const what of ['apps.privatespaces.dev/billing', 'apps.privatespaces.dev/www', 'peering/office'])
    await ok(['wait', '--for=condition=Ready', what, '-n', A, '--timeout=60s']);
  await waitFor(
    'edit aggregated with privatespaces-developer',
    async () =>
      (await as('dev', ['auth', 'can-i', 'create', 'apps.privatespaces.dev', '-n', A])).stdout.trim() ===
      'yes',
    30_000,
  );
});

afterAll(async () => {
  await admin(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '--ignore-not-found']);
  await op?.stop();
  await admin(['delete', 'spaces.privatespaces.dev', '--all', '--ignore-not-found', '--wait=false']);
  await admin(['delete', 'namespace', OPS, A, LEGACY, OLD, '--ignore-not-found', '--wait=false']);
  await admin(['delete', 'clusterrolebinding', OPS, `adv-owner-${id}`, '--ignore-not-found']);
  await admin(['delete', 'node', NODE, '--ignore-not-found']);
});

// ---- 1. namespaces: adopted, destroyed --------------------------------------------------------------

describe('1. a Space never takes or destroys a namespace that is not its own', () => {
  it('the developer cannot create a Space at all (RBAC)', async () => {
    const { verdict } = await refusedYaml('dev', space(OPS, '{ cidr: 10.62.0.0/16 }'));
    expect(verdict).toBe('forbidden');
  });

  it.each([['kube-system'], ['kube-public'], ['default'], ['<operator namespace>']])(
    'the Space admin: Space %s is refused',
    async (name) => {
      const n = name === '<operator namespace>' ? OPS : name;
      const { verdict, msg } = await refusedYaml('owner', space(n, '{ cidr: 10.63.0.0/16 }'));
      expect(verdict, msg).toBe('webhook');
      expect(msg).toContain('metadata.name');
    },
  );

  it('the Space admin: a Space named after an existing namespace neither owns it nor deletes it', async () => {
    const r = await applyAs('owner', space(LEGACY, '{ cidr: 10.64.0.0/16 }'));
    if (r.code === 0) {
      await sleep(3000);
      const ns = await getJson(kubeconfig, ['namespace', LEGACY]);
      expect(ns.metadata.ownerReferences ?? []).toEqual([]);
      expect((await as('owner', ['delete', 'spaces.privatespaces.dev', LEGACY])).code).toBe(0);
      await sleep(5000);
    } else {
      expect(classify(r), r.stderr).toBe('webhook');
    }
    expect((await getJson(kubeconfig, ['configmap', 'precious', '-n', LEGACY]))?.data?.data).toBe('keep');
    expect((await getJson(kubeconfig, ['namespace', LEGACY]))?.metadata?.deletionTimestamp).toBeUndefined();
  });
});

// ---- 2. names -------------------------------------------------------------------------------------

describe('2. names outside the platform-allowed suffixes', () => {
  it('the developer: an App with custom domain github.com is refused', async () => {
    const { msg } = await refusedYaml(
      'dev',
      app('capture', '{ internalRouting: true, domains: [github.com] }'),
    );
    expect(msg).toContain('spec.domains');
  });

  it('the developer: adding github.com to an existing App (UPDATE) is refused', async () => {
    const { msg } = await refusedAs('dev', [
      'patch',
      'apps.privatespaces.dev',
      'www',
      '-n',
      A,
      '--type=merge',
      '-p',
      '{"spec":{"domains":["github.com"]}}',
    ]);
    expect(msg).toContain('spec.domains');
  });

  it('the Space admin: a Space with dnsDomain amazonaws.com is refused', async () => {
    const { msg } = await refusedYaml(
      'owner',
      space(`dns-${id}`, '{ cidr: 10.65.0.0/16, dnsDomain: amazonaws.com }'),
    );
    expect(msg).toContain('spec.dnsDomain');
  });
});

// ---- 4. external App selecting internal pods --------------------------------------------------------

describe("4. an external App may not select an internal App's pods", () => {
  it.each([
    ['the same label', '{ privatespaces.dev/app: billing }'],
    ['a second label the pods carry', '{ tier: backend }'],
  ])('selector on %s is refused', async (_, labels) => {
    const { verdict, msg } = await refusedYaml(
      'dev',
      app('grab', `{ internalRouting: false, port: 5000, selector: { matchLabels: ${labels} } }`),
    );
    expect(verdict, msg).toBe('webhook');
  });

  it('moving an existing external App onto them (UPDATE) is refused', async () => {
    const { verdict, msg } = await refusedAs('dev', [
      'patch',
      'apps.privatespaces.dev',
      'www',
      '-n',
      A,
      '--type=merge',
      '-p',
      '{"spec":{"selector":{"matchLabels":{"tier":"backend"}}}}',
    ]);
    expect(verdict, msg).toBe('webhook');
  });
});

// ---- 5. Peerings over the cluster's own ranges ------------------------------------------------------

describe("5. a Peering may not cover the cluster's own ranges", () => {
  it('the developer cannot create a Peering at all (RBAC)', async () => {
    expect((await refusedYaml('dev', peering('sneak', '[192.168.78.0/24]'))).verdict).toBe('forbidden');
  });

  it.each([
    ['the node pod CIDR', '[10.244.0.0/16]'],
    ['part of the node pod CIDR', `[${POD_CIDR}]`],
    ['the Service CIDR (ServiceCIDR API)', '[10.96.0.0/16]'],
    ['a node address', '[172.20.0.0/24]'],
    ['split ranges instead of 0.0.0.0/0', '[0.0.0.0/1, 128.0.0.0/1]'],
    ['a non-canonical form of the pod CIDR', '[10.244.7.1/24]'],
  ])('the granted tenant: %s is refused', async (_, cidrs) => {
    const { verdict, msg } = await refusedYaml('peerer', peering('cover', cidrs));
    expect(['webhook', 'invalid'], msg).toContain(verdict);
  });

  it('the granted tenant: widening an active Peering onto the pod CIDR (UPDATE) is refused', async () => {
    const { msg } = await refusedYaml('peerer', peering('office', `[${PEER}, 10.244.0.0/16]`));
    expect(msg).toContain('spec.cidrs');
  });
});

// ---- 6. policies and pods judged live ---------------------------------------------------------------

describe('6. widening policies, in every shape', () => {
  it.each([
    [
      'matchExpressions instead of matchLabels',
      '{ matchExpressions: [{ key: privatespaces.dev/app, operator: In, values: [billing] }] }',
      '[{}]',
    ],
    ['an empty podSelector', '{}', '[{}]'],
    [
      'a named port from 0.0.0.0/0',
      BILLING,
      '[{ from: [{ ipBlock: { cidr: 0.0.0.0/0 } }], ports: [{ port: http }] }]',
    ],
    [
      'an endPort range from 0.0.0.0/0',
      BILLING,
      '[{ from: [{ ipBlock: { cidr: 0.0.0.0/0 } }], ports: [{ port: 1, endPort: 65535 }] }]',
    ],
    [
      'split ranges 0.0.0.0/1 + 128.0.0.0/1',
      BILLING,
      '[{ from: [{ ipBlock: { cidr: 0.0.0.0/1 } }, { ipBlock: { cidr: 128.0.0.0/1 } }] }]',
    ],
    [
      'namespaceSelector by Exists',
      BILLING,
      '[{ from: [{ namespaceSelector: { matchExpressions: [{ key: kubernetes.io/metadata.name, operator: Exists }] } }] }]',
    ],
    ['a second label the pods carry', '{ matchLabels: { tier: backend } }', '[{}]'],
  ])('the developer: %s is refused', async (_, selector, ingress) => {
    const { verdict, msg } = await refusedYaml('dev', policy('widen', selector, ingress));
    expect(verdict, msg).toBe('webhook');
  });

  // A chain of requests, each a step a careful tenant takes: the first refused ends the attack at
  // admission; if every step is admitted, the internal App must report Exposed=True.
  it.each([
    [
      'a policy on labels of no pod yet, then an internal App and a pod with those labels',
      'reports',
      [
        policy('early', '{ matchLabels: { tier: public } }', '[{}]'),
        app('reports', '{ internalRouting: true, port: 5000 }'),
        pod('reports-1', '{ privatespaces.dev/app: reports, privatespaces.dev/process: web, tier: public }'),
      ],
    ],
    [
      'an open policy on a label, then the internal pod relabelled onto it (pod UPDATE)',
      'billing',
      [
        policy('open', '{ matchLabels: { tier: open } }', '[{}]'),
        pod('billing-1', '{ privatespaces.dev/app: billing, privatespaces.dev/process: web, tier: open }'),
      ],
    ],
    [
      "an open policy on a stray pod, then the internal App's selector moved onto it (App UPDATE)",
      'billing',
      [
        policy('open2', '{ matchLabels: { tier: open2 } }', '[{}]'),
        pod('stray-1', '{ tier: open2, privatespaces.dev/process: web }'),
        app('billing', '{ internalRouting: true, port: 5000, selector: { matchLabels: { tier: open2 } } }'),
      ],
    ],
  ])('%s: refused at a step, or reported Exposed', async (_, target, steps) => {
    const outcome = await chain('dev', steps, target);
    expect(['refused', 'exposed']).toContain(outcome);
  });

  it('an old object: an open policy in a namespace a Space then adopts, and an internal App on its pods: refused or reported', async () => {
    // Before the namespace is a Space's, no Space rule applies to it: the open policy and the pod
    // are already there when the Space adopts it (opt-in annotation), as after a migration.
    await ok(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Namespace
metadata:
  name: ${OLD}
  annotations: { privatespaces.dev/adopt: ${OLD} }
  labels: { pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/warn: baseline, pod-security.kubernetes.io/audit: baseline }
---
${policy('open', '{ matchLabels: { tier: public } }', '[{}]').replace(`namespace: ${A}`, `namespace: ${OLD}`)}
---
${pod('reports-1', '{ privatespaces.dev/app: reports, privatespaces.dev/process: web, tier: public }').replace(`namespace: ${A}`, `namespace: ${OLD}`)}`,
    );
    await waitFor(
      `the default ServiceAccount of ${OLD}`,
      async () => (await admin(['get', 'serviceaccount', 'default', '-n', OLD])).code === 0,
      30_000,
    );
    expect((await applyAs('owner', space(OLD, '{ cidr: 10.66.0.0/16 }'))).code).toBe(0);
    await ok(['wait', '--for=condition=Ready', `space/${OLD}`, '--timeout=60s']);
    await ok([
      'create',
      'rolebinding',
      'dev-edit',
      '--clusterrole=edit',
      `--serviceaccount=${A}:dev`,
      '-n',
      OLD,
    ]);
    const r = await applyAs(
      'dev',
      app('reports', '{ internalRouting: true, port: 5000 }').replace(`namespace: ${A}`, `namespace: ${OLD}`),
    );
    if (r.code !== 0) {
      expect(classify(r), r.stderr).toBe('webhook');
      report(['old object: App'], classify(r), r.stderr);
      return;
    }
    await waitFor(
      'App reports Exposed=True in the adopted namespace',
      async () => {
        const a = await getJson(kubeconfig, ['apps.privatespaces.dev', 'reports', '-n', OLD]);
        return a?.status?.conditions?.find((c: { type: string }) => c.type === 'Exposed')?.status === 'True';
      },
      20_000,
    );
  });

  it('turning an accepted narrow policy into an allow-all (UPDATE) is refused; dry run writes nothing', async () => {
    const narrow = policy(
      'narrow',
      BILLING,
      '[{ from: [{ podSelector: { matchLabels: { role: frontend } } }] }]',
    );
    const dry = await as('dev', ['apply', '--dry-run=server', '-f', '-'], narrow);
    expect(dry.code, dry.stderr).toBe(0);
    expect((await admin(['get', 'networkpolicy', 'narrow', '-n', A])).code).not.toBe(0);
    expect((await applyAs('dev', narrow)).code).toBe(0);
    const { verdict } = await refusedYaml('dev', policy('narrow', BILLING, '[{}]'));
    expect(verdict).toBe('webhook');
    const live = await getJson(kubeconfig, ['networkpolicy', 'narrow', '-n', A]);
    expect(live.spec.ingress[0].from).toHaveLength(1);
  });

  it('deleting the last policy that isolates a pod: the default-deny cannot be deleted', async () => {
    const { verdict } = await refusedAs('dev', ['delete', 'networkpolicy', 'space-default-deny', '-n', A]);
    expect(verdict).toBe('webhook');
  });
});

// ---- 7. host networking --------------------------------------------------------------------------

describe('7. host networking in a Space namespace', () => {
  it.each([
    ['a hostNetwork pod with unrelated labels', pod('hostnet', '{ role: debug }', 'hostNetwork: true')],
    [
      'a hostPort pod with unrelated labels',
      `apiVersion: v1
kind: Pod
metadata: { name: hostport, namespace: ${A}, labels: { role: debug } }
spec:
  containers: [{ name: c, image: registry.invalid/c:1, ports: [{ containerPort: 9000, hostPort: 9000 }] }]
`,
    ],
    [
      'a privileged pod',
      `apiVersion: v1
kind: Pod
metadata: { name: privileged, namespace: ${A}, labels: { role: debug } }
spec:
  containers: [{ name: c, image: registry.invalid/c:1, securityContext: { privileged: true } }]
`,
    ],
  ])('%s is refused', async (_, yaml) => {
    const { verdict, msg } = await refusedYaml('dev', yaml);
    expect(['podsecurity', 'webhook'], msg).toContain(verdict);
  });

  it('the Space namespace enforces Pod Security baseline or stricter, and the developer cannot relabel it', async () => {
    const ns = await getJson(kubeconfig, ['namespace', A]);
    expect(['baseline', 'restricted']).toContain(ns.metadata.labels['pod-security.kubernetes.io/enforce']);
    const { verdict } = await refusedAs('dev', [
      'label',
      'namespace',
      A,
      'pod-security.kubernetes.io/enforce=privileged',
      '--overwrite',
    ]);
    expect(verdict).toBe('forbidden');
  });

  it.each([
    [
      'Deployment',
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: hostnet, namespace: ${A} }
spec:
  replicas: 1
  selector: { matchLabels: { role: sidecar } }
  template:
    ${hostnetTemplate(4, 'Always')}
`,
    ],
    [
      'CronJob',
      `apiVersion: batch/v1
kind: CronJob
metadata: { name: hostnet, namespace: ${A} }
spec:
  schedule: '0 0 1 1 *'
  jobTemplate:
    spec:
      template:
        ${hostnetTemplate(8, 'Never')}
`,
    ],
  ])('a %s whose template uses hostNetwork never yields a hostNetwork pod', async (kind, yaml) => {
    const r = await applyAs('dev', yaml);
    report([kind], classify(r), r.stderr);
    if (r.code !== 0) {
      expect(['podsecurity', 'webhook'], r.stderr).toContain(classify(r));
      return;
    }
    // Admitted (Pod Security only warns on templates): its pods must be refused when made.
    expect(r.stderr).toMatch(/PodSecurity|hostNetwork/);
    if (kind === 'CronJob')
      expect(
        (await as('dev', ['create', 'job', 'hostnet-now', `--from=cronjob/hostnet`, '-n', A])).code,
      ).toBe(0);
    await waitFor(
      `FailedCreate for the ${kind}'s pods`,
      async () => {
        const ev = await getJson(kubeconfig, ['events', '-n', A, '--field-selector', 'reason=FailedCreate']);
        return (ev?.items ?? []).some((e: { message: string }) =>
          /hostNetwork|PodSecurity|denied/.test(e.message),
        );
      },
      20_000,
    );
    const pods = await getJson(kubeconfig, ['pods', '-n', A]);
    expect(
      (pods?.items ?? []).filter((p: { spec: { hostNetwork?: boolean } }) => p.spec.hostNetwork),
    ).toEqual([]);
  });

  it('an ephemeral container with privileges (kubectl debug --profile=sysadmin) is refused', async () => {
    const debug = [
      'debug',
      'billing-1',
      '-n',
      A,
      '--image=registry.invalid/debug:1',
      '--profile=sysadmin',
      '--attach=false',
    ];
    // `edit` does not grant pods/ephemeralcontainers: RBAC refuses first.
    const r = await as('dev', debug);
    report(debug, classify(r), r.stderr);
    expect(classify(r), r.stderr).toBe('forbidden');
    // A platform that grants it for `kubectl debug`: Pod Security still refuses a privileged one.
    await ok([
      'create',
      'role',
      'debugger',
      '--verb=patch,update',
      '--resource=pods/ephemeralcontainers',
      '-n',
      A,
    ]);
    await ok([
      'create',
      'rolebinding',
      'dev-debugger',
      '--role=debugger',
      `--serviceaccount=${A}:dev`,
      '-n',
      A,
    ]);
    await waitFor(
      'debugger bound',
      async () =>
        (
          await as('dev', ['auth', 'can-i', 'patch', 'pods', '--subresource=ephemeralcontainers', '-n', A])
        ).stdout.trim() === 'yes',
      10_000,
    );
    const granted = await as('dev', debug);
    report([...debug, '(granted)'], classify(granted), granted.stderr);
    expect(classify(granted), granted.stderr).toBe('podsecurity');
    const live = await getJson(kubeconfig, ['pod', 'billing-1', '-n', A]);
    expect(live.spec.ephemeralContainers ?? []).toEqual([]);
  });
});

// ---- 8. Services and Ingresses judged on what they select ----------------------------------------

describe('8. Services and Ingresses that reach internal pods', () => {
  it.each([
    ['a NodePort on a second label', service('np', 'NodePort', '{ tier: backend }')],
    ['a LoadBalancer on a second label', service('lb', 'LoadBalancer', '{ tier: backend }')],
    [
      'a ClusterIP with externalIPs',
      service('eip', 'ClusterIP', '{ tier: backend }', ', externalIPs: [192.168.99.10]'),
    ],
  ])('%s is refused', async (_, yaml) => {
    const { verdict, msg } = await refusedYaml('dev', yaml);
    expect(verdict, msg).toBe('webhook');
  });

  it("an Ingress to the tenant's own ClusterIP Service that selects internal pods is refused", async () => {
    expect((await applyAs('dev', service('sneaky', 'ClusterIP', '{ tier: backend }'))).code).toBe(0);
    const { verdict, msg } = await refusedYaml(
      'dev',
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: sneaky, namespace: ${A} }
spec:
  defaultBackend: { service: { name: sneaky, port: { number: 80 } } }
`,
    );
    expect(verdict, msg).toBe('webhook');
  });

  it('turning an accepted ClusterIP Service into a NodePort (UPDATE) is refused', async () => {
    const { verdict } = await refusedYaml('dev', service('sneaky', 'NodePort', '{ tier: backend }'));
    expect(verdict).toBe('webhook');
  });
});

// ---- 9 and 11. operator-owned objects ---------------------------------------------------------------

describe("9 and 11. the operator's objects stay the operator's", () => {
  it('concurrent deletes of the default-deny and the App policy are all refused, in every round', async () => {
    const uids = async (): Promise<string[]> =>
      Promise.all(
        ['space-default-deny', 'app-billing'].map(
          async (n) => (await getJson(kubeconfig, ['networkpolicy', n, '-n', A]))?.metadata?.uid as string,
        ),
      );
    const before = await uids();
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(
        ['space-default-deny', 'app-billing', 'space-default-deny', 'app-billing'].map((n) =>
          as('dev', ['delete', 'networkpolicy', n, '-n', A, '--wait=false']),
        ),
      );
      expect(results.map((r) => r.code === 0)).toEqual([false, false, false, false]);
    }
    expect(await uids()).toEqual(before);
  });

  it.each([
    [
      'an extra matchExpressions',
      '{"spec":{"podSelector":{"matchExpressions":[{"key":"tier","operator":"Exists"}]}}}',
    ],
    ['an egress rule', '{"spec":{"policyTypes":["Ingress","Egress"],"egress":[{}]}}'],
    ['an allow-all ingress', '{"spec":{"ingress":[{}]}}'],
    ['a label', '{"metadata":{"labels":{"owner":"tenant"}}}'],
  ])("patching %s into the App's policy is refused, or fully reverted", async (_, patch) => {
    const before = await getJson(kubeconfig, ['networkpolicy', 'app-billing', '-n', A]);
    const r = await as('dev', [
      'patch',
      'networkpolicy',
      'app-billing',
      '-n',
      A,
      '--type=merge',
      '-p',
      patch,
    ]);
    if (r.code === 0) {
      await waitFor(
        'app-billing reverted',
        async () => {
          const now = await getJson(kubeconfig, ['networkpolicy', 'app-billing', '-n', A]);
          return (
            JSON.stringify([now.spec, now.metadata.labels]) ===
            JSON.stringify([before.spec, before.metadata.labels])
          );
        },
        15_000,
      );
    } else {
      expect(classify(r), r.stderr).toBe('webhook');
    }
  });

  it("server-side apply --force-conflicts onto the App's policy is refused", async () => {
    const { verdict } = await refusedAs(
      'dev',
      ['apply', '--server-side', '--force-conflicts', '--field-manager=spaces-operator', '-f', '-'],
      policy('app-billing', BILLING, '[{}]'),
    );
    expect(verdict).toBe('webhook');
  });

  it("deleting the App's Service is refused, or it comes back with the same ClusterIP", async () => {
    const ip = (await getJson(kubeconfig, ['service', 'billing', '-n', A]))?.spec?.clusterIP as string;
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const r = await as('dev', ['delete', 'service', 'billing', '-n', A]);
    if (r.code === 0) {
      const back = await waitFor(
        `Service ${A}/billing back with a ClusterIP`,
        async () => (await getJson(kubeconfig, ['service', 'billing', '-n', A]))?.spec?.clusterIP as string,
        15_000,
      );
      expect(back).toBe(ip);
    }
    expect((await getJson(kubeconfig, ['service', 'billing', '-n', A]))?.spec?.clusterIP).toBe(ip);
  });

  it.each([
    ['a NetworkPolicy', policy('spoof', '{ matchLabels: { role: nobody } }', '[]')],
    ['a Service', service('spoof', 'ClusterIP', '{ role: nobody }')],
  ])('%s labelled managed-by=spaces-operator by the tenant is refused', async (_, yaml) => {
    const spoofed = yaml.replace(
      `namespace: ${A} }`,
      `namespace: ${A}, labels: { app.kubernetes.io/managed-by: spaces-operator, privatespaces.dev/app: billing } }`,
    );
    const { verdict } = await refusedYaml('dev', spoofed);
    expect(verdict).toBe('webhook');
  });

  it('the developer cannot write App status (Exposed=False, "Contained")', async () => {
    const { verdict } = await refusedAs('dev', [
      'patch',
      'apps.privatespaces.dev',
      'billing',
      '-n',
      A,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"exposed":false}}',
    ]);
    expect(verdict).toBe('forbidden');
  });
});

// ---- 12. non-canonical CIDRs ----------------------------------------------------------------------

describe('12. only canonical CIDRs in NetworkPolicies', () => {
  it.each([['0.0.0.0/00'], ['010.0.0.0/8'], ['10.0.0.1/8'], ['10.0.0.0/08']])(
    'an ipBlock %s (on pods of no App) is refused',
    async (cidr) => {
      const { verdict, msg } = await refusedYaml(
        'dev',
        policy('odd', '{ matchLabels: { role: nobody } }', `[{ from: [{ ipBlock: { cidr: '${cidr}' } }] }]`),
      );
      expect(['webhook', 'invalid'], msg).toContain(verdict);
    },
  );
});
