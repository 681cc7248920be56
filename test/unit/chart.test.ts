// The Helm chart (charts/spaces-operator) and the kustomize tree (deploy/) cannot drift: the
// chart's CRDs, RBAC, tenant roles and webhook configuration are symbolic links to crds/ and
// deploy/ (one source), and with default values `helm template` renders every object of
// `kubectl kustomize deploy/` and nothing else, equal field for field once Helm's own labels are
// set aside. `helm lint --strict` is clean with the default values and with every option on; each
// value reaches the flag of src/main.ts it stands for; wrong values fail naming the value.
import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { binaries, repoRoot } from '../../tools/harness/binaries.ts';
import { tool } from '../../tools/release/bin.ts';

// helm and promtool are separate processes: seconds each on a busy machine.
vi.setConfig({ testTimeout: 120_000 });
const run = promisify(execFile);
const chart = path.join(repoRoot, 'charts/spaces-operator');
let helm: string;
let kubectl: string;

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [k: string]: unknown;
}

const docs = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');

async function template(values: Record<string, string> = {}, extra: string[] = []): Promise<Obj[]> {
  const set = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const { stdout } = await run(
    helm,
    [
      'template',
      'spaces-operator',
      chart,
      '--namespace',
      'spaces-system',
      '--include-crds',
      ...set,
      ...extra,
    ],
    { maxBuffer: 32 << 20 },
  );
  return docs(stdout);
}

async function templateFails(values: Record<string, string>): Promise<string> {
  const set = Object.entries(values).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const r = await run(helm, ['template', 'x', chart, ...set]).then(
    () => undefined,
    (err: { stderr: string }) => err.stderr,
  );
  expect(r, `helm template with ${JSON.stringify(values)} should fail`).toBeDefined();
  return r!;
}

const key = (o: Obj): string => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Helm's bookkeeping labels and annotations; the labels kustomize puts on CRDs (Helm never templates crds/). */
function normalize(o: Obj): Obj {
  const c = structuredClone(o);
  const labels = c.metadata.labels ?? {};
  for (const l of ['helm.sh/chart', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'])
    delete labels[l];
  if (c.kind === 'CustomResourceDefinition') {
    delete labels['app.kubernetes.io/name'];
    delete labels['app.kubernetes.io/part-of'];
  }
  if (Object.keys(labels).length === 0) delete c.metadata.labels;
  delete c.metadata.annotations?.['helm.sh/resource-policy'];
  if (c.metadata.annotations && Object.keys(c.metadata.annotations).length === 0)
    delete c.metadata.annotations;
  return c;
}

const byKey = (objs: Obj[]): Map<string, Obj> => new Map(objs.map((o) => [key(o), normalize(o)]));

const container = (objs: Obj[]): { args: string[]; command: string[]; image: string } => {
  const d = objs.find((o) => o.kind === 'Deployment') as unknown as {
    spec: { template: { spec: { containers: Array<{ args: string[]; command: string[]; image: string }> } } };
  };
  return d.spec.template.spec.containers[0]!;
};

beforeAll(async () => {
  helm = await tool('helm');
  kubectl = (await binaries('kubectl')).kubectl;
}, 1_800_000);

describe('one source for the chart and deploy/', () => {
  it("the chart's crds/ and files/ are symbolic links into crds/ and deploy/", () => {
    const links = ['crds', 'files', 'files/monitoring'].flatMap((d) =>
      readdirSync(path.join(chart, d), { withFileTypes: true })
        .filter((e) => !e.isDirectory())
        .map((e) => path.join(chart, d, e.name)),
    );
    expect(links.length).toBeGreaterThanOrEqual(9);
    for (const l of links) {
      expect(lstatSync(l).isSymbolicLink(), `${l} is a link`).toBe(true);
      const target = path.relative(repoRoot, realpathSync(l));
      expect(target, l).toMatch(/^(crds|deploy)\//);
    }
    // Every CRD that deploy/ installs is in the chart's crds/.
    const kustomized =
      readFileSync(path.join(repoRoot, 'crds/Kustomization'), 'utf8').match(/^ {2}- (\S+)$/gm) ?? [];
    expect(kustomized.map((l) => l.slice(4)).sort()).toEqual(readdirSync(path.join(chart, 'crds')).sort());
  });

  it('with default values, `helm template` renders exactly `kubectl kustomize deploy/` (but the Namespace)', async () => {
    const [helmObjs, { stdout }] = await Promise.all([
      template(),
      run(kubectl, ['kustomize', path.join(repoRoot, 'deploy')], { maxBuffer: 32 << 20 }),
    ]);
    const fromHelm = byKey(helmObjs);
    const fromKustomize = byKey(docs(stdout));
    expect(fromKustomize.size).toBeGreaterThan(15);
    // Helm installs into the release namespace (--create-namespace); namespace.create adds it.
    const ns = 'Namespace /spaces-system';
    expect([...fromKustomize.keys()].filter((k) => !fromHelm.has(k))).toEqual([ns]);
    expect([...fromHelm.keys()].filter((k) => !fromKustomize.has(k))).toEqual([]);
    for (const [k, o] of fromHelm) expect(o, k).toEqual(fromKustomize.get(k));

    const withNs = byKey(await template({ 'namespace.create': 'true' }));
    expect(withNs.get(ns)).toEqual(fromKustomize.get(ns));
    // Helm keeps it on uninstall: the namespace holds what the operator wrote (its certificate Secret).
    const raw = (await template({ 'namespace.create': 'true' })).find((o) => key(o) === ns)!;
    expect(raw.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
  });

  it('another release namespace replaces spaces-system everywhere (RBAC subjects, webhook Service and exemption)', async () => {
    const { stdout } = await run(helm, ['template', 'ops', chart, '--namespace', 'platform-ops'], {
      maxBuffer: 32 << 20,
    });
    expect(stdout).not.toContain('spaces-system');
    const objs = docs(stdout);
    const vwc = objs.find((o) => o.kind === 'ValidatingWebhookConfiguration') as unknown as {
      webhooks: Array<{
        clientConfig: { service: { namespace: string } };
        matchConditions: Array<{ expression: string }>;
      }>;
    };
    expect(vwc.webhooks.every((w) => w.clientConfig.service.namespace === 'platform-ops')).toBe(true);
    expect(vwc.webhooks[0]!.matchConditions[0]!.expression).toContain(
      'system:serviceaccount:platform-ops:spaces-operator',
    );
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding') as unknown as {
      subjects: Array<{ namespace: string }>;
    };
    expect(binding.subjects[0]!.namespace).toBe('platform-ops');
    // The CoreDNS Role stays where CoreDNS reads: kube-system.
    expect(
      objs
        .filter((o) => o.kind === 'Role')
        .map((o) => o.metadata.namespace)
        .sort(),
    ).toEqual(['kube-system', 'platform-ops']);
  });
});

describe('helm package', () => {
  it('packs the contents of the linked files: the published chart renders what the source does', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'chart-pkg-'));
    await run(helm, ['package', chart, '--destination', out]);
    const tgz = readdirSync(out).find((f) => f.endsWith('.tgz'))!;
    const listing = (await run('tar', ['-tzvf', path.join(out, tgz)])).stdout;
    expect(listing).not.toMatch(/^l/m); // no symbolic links inside
    const args = ['--namespace', 'spaces-system', '--include-crds'];
    const [fromPackage, fromSource] = await Promise.all([
      run(helm, ['template', 'spaces-operator', path.join(out, tgz), ...args], { maxBuffer: 32 << 20 }),
      run(helm, ['template', 'spaces-operator', chart, ...args], { maxBuffer: 32 << 20 }),
    ]);
    expect(docs(fromPackage.stdout)).toEqual(docs(fromSource.stdout));
    expect(docs(fromPackage.stdout).filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(3);
  });
});

describe('helm lint', () => {
  it.each([
    ['default values', []],
    [
      'every option on',
      [
        '--set',
        'webhook.certificates=cert-manager,dns.mode=import,monitoring.serviceMonitor.enabled=true,monitoring.prometheusRule.enabled=true,monitoring.dashboard.enabled=true,namespace.create=true,podSecurity=restricted',
      ],
    ],
  ])('is clean with --strict: %s', async (_, extra) => {
    const { stdout } = await run(helm, ['lint', '--strict', chart, ...extra]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });
});

describe('values reach the operator', () => {
  it('every flag the chart can pass is one src/main.ts accepts', async () => {
    const objs = await template({
      'leaderElection.enabled': 'true',
      'webhook.certificates': 'cert-manager',
      'dns.mode': 'disabled',
      allowedDnsSuffixes: '{corp.example,internal.example}',
      clusterCidrs: '{10.42.0.0/16,10.43.0.0/16}',
      podSecurity: 'restricted',
      concurrency: '8',
      resyncSeconds: '600',
    });
    const { args } = container(objs);
    expect(args).toEqual([
      '--leader-elect',
      '--webhook-port=9443',
      '--health-port=8080',
      '--cert-manager',
      '--no-dns',
      '--allowed-dns-suffixes=corp.example,internal.example',
      '--cluster-cidrs=10.42.0.0/16,10.43.0.0/16',
      '--pod-security=restricted',
      '--concurrency=8',
      '--resync-seconds=600',
    ]);
    const { stdout: help } = await run(process.execPath, [path.join(repoRoot, 'src/main.ts'), '--help']);
    for (const a of args) expect(help, a).toContain(`  ${a.split('=')[0]}`);
  });

  it('cert-manager: a Certificate for the webhook Service, its Secret, and the CA injection annotation', async () => {
    const objs = await template({ 'webhook.certificates': 'cert-manager' });
    const cert = objs.find((o) => o.kind === 'Certificate') as unknown as {
      spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string; kind: string } };
    };
    // The operator reads `<webhook service>-tls` (src/webhook/index.ts) and serves these names.
    expect(cert.spec.secretName).toBe('spaces-operator-webhook-tls');
    expect(cert.spec.dnsNames).toContain('spaces-operator-webhook.spaces-system.svc');
    expect(cert.spec.issuerRef).toEqual({ name: 'spaces-operator-selfsigned', kind: 'Issuer' });
    expect(objs.some((o) => o.kind === 'Issuer')).toBe(true);
    const vwc = objs.find((o) => o.kind === 'ValidatingWebhookConfiguration')!;
    expect(vwc.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe(
      'spaces-system/spaces-operator-webhook',
    );
    const own = await template({ 'webhook.certificates': 'cert-manager' }, [
      '--set',
      'webhook.certManager.issuerRef.name=corp-ca,webhook.certManager.issuerRef.kind=ClusterIssuer',
    ]);
    expect(own.some((o) => o.kind === 'Issuer')).toBe(false);
    const selfManaged = await template();
    expect(selfManaged.some((o) => o.kind === 'Certificate')).toBe(false);
    const plain = selfManaged.find((o) => o.kind === 'ValidatingWebhookConfiguration')!;
    expect(plain.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBeUndefined();
  });

  it('image by tag (default: appVersion) or by digest, replicas, resources', async () => {
    const chartYaml = readFileSync(path.join(chart, 'Chart.yaml'), 'utf8');
    const appVersion = /^appVersion: (\S+)$/m.exec(chartYaml)![1];
    expect(container(await template()).image).toBe(`ghcr.io/spaces-operator/spaces-operator:${appVersion}`);
    const digest = 'sha256:' + 'a'.repeat(64);
    expect(container(await template({ 'image.digest': digest })).image).toBe(
      `ghcr.io/spaces-operator/spaces-operator@${digest}`,
    );
    const objs = await template({ replicas: '3', 'resources.limits.memory': '512Mi' });
    const d = objs.find((o) => o.kind === 'Deployment') as unknown as {
      spec: { replicas: number; template: { spec: { containers: Array<{ resources: unknown }> } } };
    };
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec.containers[0]!.resources).toEqual({
      requests: { cpu: '100m', memory: '160Mi' },
      limits: { memory: '512Mi' },
    });
  });

  it('monitoring objects are the files of deploy/monitoring, only when asked for', async () => {
    expect((await template()).some((o) => o.apiVersion.startsWith('monitoring.coreos.com'))).toBe(false);
    const objs = await template({
      'monitoring.serviceMonitor.enabled': 'true',
      'monitoring.prometheusRule.enabled': 'true',
      'monitoring.dashboard.enabled': 'true',
      'monitoring.prometheusRule.labels.release': 'kube-prometheus',
    });
    const rule = objs.find((o) => o.kind === 'PrometheusRule')!;
    const source = docs(
      readFileSync(path.join(repoRoot, 'deploy/monitoring/prometheusrule.yaml'), 'utf8'),
    )[0]!;
    expect(rule['spec']).toEqual(source['spec']);
    expect(rule.metadata.labels?.['release']).toBe('kube-prometheus');
    const dashboard = objs.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'spaces-operator-dashboard',
    )!;
    expect((dashboard['data'] as Record<string, string>)['spaces-operator.json']).toBe(
      readFileSync(path.join(repoRoot, 'deploy/monitoring/dashboard.json'), 'utf8'),
    );
    expect(dashboard.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(objs.some((o) => o.kind === 'ServiceMonitor')).toBe(true);
  });

  it.each([
    [{ 'webhook.certificates': 'letsencrypt' }, 'webhook.certificates: "letsencrypt"'],
    [{ 'dns.mode': 'bind' }, 'dns.mode: "bind"'],
    [{ podSecurity: 'privileged' }, 'podSecurity: "privileged"'],
    [{ 'leaderElection.enabled': 'false' }, 'replicas: more than 1 needs leaderElection.enabled'],
  ])('refuses %j, naming the value', async (values, message) => {
    expect(await templateFails(values)).toContain(message);
  });
});

describe('NOTES.txt', () => {
  it('says what uninstall keeps and how to remove the CRDs', async () => {
    // A client-side dry run renders the notes as `helm install` prints them, without a cluster.
    const { stdout } = await run(
      helm,
      ['install', 'x', chart, '--namespace', 'spaces-system', '--dry-run=client'],
      {
        maxBuffer: 32 << 20,
      },
    );
    const notes = stdout.slice(stdout.indexOf('NOTES:'));
    expect(notes).toContain(
      'kubectl delete crd spaces.privatespaces.dev apps.privatespaces.dev peerings.privatespaces.dev',
    );
    expect(notes).toContain('keeps the CRDs, every Space, App and Peering');
    expect(notes).toContain('kubectl apply --server-side -f <chart>/crds/');
  });
});
