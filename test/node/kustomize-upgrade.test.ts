// The kustomize tree upgraded from version N to N+1 on a real node, the way a platform team (or
// Argo CD / Flux pointed at deploy/) does it: version N is `kubectl apply -k deploy/` with the
// image built here from the Dockerfile (tools/harness/install.ts); version N+1 is an overlay over
// deploy/ that changes the image tag (a second tag of the same image in the node's containerd),
// an argument (--concurrency=8), so every operator pod rolls, and the CRDs (a printer column: a
// compatible CRD change, which makes the apiserver rebuild each CRD's storage and end every watch
// on it). docs/UPGRADING.md: for kustomize the CRDs are part of the tree and go in the same apply;
// kustomize orders them before the Deployment, so the new CRDs are in place before the new
// operator starts (asserted below on the rendered overlay).
// While `kubectl apply --server-side -k` of N+1 rolls the operator, a pod of the Space probes
// `billing` every 200 ms (none refused) and the webhook is asked every second (it fails closed, so
// a gap would refuse users' writes). Then: every old operator pod deleted, every App Ready, no
// Space/App/Peering/Service/NetworkPolicy re-created (uids), and the new leader reconciles a new
// App on the new CRDs. Root only (in CI a node that cannot run fails the file).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaries, repoRoot } from '../../tools/harness/binaries.ts';
import {
  kubectlOk,
  leaseHolder,
  LOCAL_DNS_SUFFIXES,
  OPERATOR_NAMESPACE as NS,
  operatorPods,
  webhookAnswers,
  type Kubectl,
} from '../../tools/harness/install.ts';
import { IMAGES, nodeUnavailable } from '../../tools/harness/node.ts';
import { startNodeCluster, type NodeCluster } from '../../tools/harness/nodecluster.ts';
import { eventually, nodeSkipReason } from './support.ts';

const run = promisify(execFile);
const reason = nodeSkipReason(nodeUnavailable(), 'test/node/kustomize-upgrade.test.ts');

let cluster: NodeCluster;
let k: Kubectl;
let overlay: string | undefined;
/** Port-forwards to end whatever happens. */
const forwards: Array<() => void> = [];

const kk = (args: string[], input?: string): Promise<string> => kubectlOk(k, args, input);

/** The printer column version N+1 adds to every CRD. */
const NEW_COLUMN = 'Revision';

/**
 * Version N+1: an overlay over deploy/ in a temporary folder. `image` is the tag the node holds
 * for N+1; the platform admin's allowed DNS suffixes are an argument in N too (install.ts).
 */
function writeOverlay(image: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'deploy-next-'));
  const colon = image.lastIndexOf(':');
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [path.relative(dir, path.join(repoRoot, 'deploy'))],
    images: [
      {
        name: 'ghcr.io/spaces-operator/spaces-operator',
        newName: image.slice(0, colon),
        newTag: image.slice(colon + 1),
      },
    ],
    patches: [
      {
        target: { kind: 'Deployment', name: 'spaces-operator' },
        patch: JSON.stringify(
          [`--allowed-dns-suffixes=${LOCAL_DNS_SUFFIXES.join(',')}`, '--concurrency=8'].map((value) => ({
            op: 'add',
            path: '/spec/template/spec/containers/0/args/-',
            value,
          })),
        ),
      },
      {
        target: { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        patch: JSON.stringify([
          {
            op: 'add',
            path: '/spec/versions/0/additionalPrinterColumns/-',
            value: { name: NEW_COLUMN, type: 'integer', jsonPath: '.metadata.generation' },
          },
        ]),
      },
    ],
  };
  writeFileSync(path.join(dir, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
  return dir;
}

/** Tags `image` as `next` in the node's containerd (the socket in the node's folder). */
async function tagInNode(image: string, next: string): Promise<void> {
  const sock = path.join(cluster.node.info.dir, 'containerd.sock');
  await run('ctr', ['--address', sock, '-n', 'k8s.io', 'images', 'tag', '--force', image, next]);
}

/**
 * A port-forward to the probe pod's agnhost netexec: each GET /dial makes the pod itself open a
 * connection to the target (source: a pod of the Space), without the cost of a `kubectl exec`.
 */
async function portForward(ns: string, pod: string, port: number): Promise<number> {
  const { kubectl } = await binaries('kubectl');
  const child = spawn(
    kubectl,
    ['--kubeconfig', cluster.cp.kubeconfigPath, '-n', ns, 'port-forward', `pod/${pod}`, `:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  forwards.push(() => void child.kill('SIGTERM'));
  return new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`port-forward: no port in 30 s: ${out}`)), 30_000);
    const read = (d: Buffer): void => {
      out += d.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`port-forward exited ${code}: ${out}`)));
  });
}

/** One connection from the probe pod to `host:port` (HTTP GET /hostname): 'ok', or what failed. */
async function dial(forwarded: number, host: string, port: number): Promise<string> {
  const url = `http://127.0.0.1:${forwarded}/dial?request=hostname&protocol=http&host=${host}&port=${port}&tries=1`;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = (await r.json()) as { responses?: string[]; errors?: string[] };
    return body.responses?.length && !body.errors?.length ? 'ok' : (body.errors?.[0] ?? `HTTP ${r.status}`);
  } catch (err) {
    return `probe: ${String(err)}`;
  }
}

/** Runs `check` every `everyMs` while `work` runs; the verdicts in order. */
async function sampleDuring<T>(
  everyMs: number,
  check: () => Promise<string>,
  work: () => Promise<T>,
): Promise<{ value: T; verdicts: string[] }> {
  const verdicts: string[] = [];
  let done = false;
  const sampling = (async (): Promise<void> => {
    while (!done) {
      const t = Date.now();
      verdicts.push(await check());
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - t))));
    }
  })();
  try {
    return { value: await work(), verdicts };
  } finally {
    done = true;
    await sampling;
  }
}

const podYaml = (name: string, labels: Record<string, string>, port: number): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'acme', labels },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'agnhost',
          image: IMAGES.agnhost,
          imagePullPolicy: 'Never',
          args: ['netexec', `--http-port=${port}`],
          readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });

/** uid of every Space, App, Peering, Service and NetworkPolicy outside the system namespaces. */
async function objectUids(): Promise<Record<string, string>> {
  const out = await kk([
    'get',
    'spaces,apps.privatespaces.dev,peerings,services,networkpolicies',
    '-A',
    '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}={.metadata.uid}{"\\n"}{end}',
  ]);
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter((l) => !l.includes(`/${NS}/`) && !l.includes('/kube-system/') && !l.includes('/default/'))
      .map((l) => l.split('=') as [string, string]),
  );
}

const appsReady = (): Promise<string> =>
  kk(['-n', 'acme', 'wait', '--for=condition=Ready', 'apps.privatespaces.dev', '--all', '--timeout=90s']);

/** The examples (Space acme, Apps billing and www, Peering office), their web pods and a probe pod. */
async function startSpace(): Promise<void> {
  await kk(['apply', '-f', path.join(repoRoot, 'examples')]);
  await kk(['wait', '--for=condition=Ready', 'space/acme', '--timeout=90s']);
  const web = (app: string): Record<string, string> => ({
    'privatespaces.dev/app': app,
    'privatespaces.dev/process': 'web',
  });
  await kk(['apply', '-f', '-'], podYaml('billing-web', web('billing'), 5000));
  await kk(['apply', '-f', '-'], podYaml('www-web', web('www'), 8080));
  await kk(['apply', '-f', '-'], podYaml('probe', { role: 'probe' }, 8081));
  await kk(['-n', 'acme', 'wait', '--for=condition=Ready', 'pod/billing-web', 'pod/www-web', 'pod/probe']);
  await appsReady();
}

describe.skipIf(reason)('the kustomize tree upgraded N → N+1 on a real node', () => {
  beforeAll(async () => {
    cluster = await startNodeCluster({ log: (l) => console.log(l) });
    k = cluster.kubectl;
    console.log(`version N installed (ms from kubectl apply): ${JSON.stringify(cluster.install)}`);
  });

  afterAll(async () => {
    for (const stop of forwards) stop();
    if (overlay) rmSync(overlay, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('kubectl apply -k of N+1 rolls every operator pod; billing reachable throughout, the webhook answering, no object re-created', async () => {
    await startSpace();
    const ip = (await kk(['-n', 'acme', 'get', 'svc', 'billing', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const forwarded = await portForward('acme', 'probe', 8081);
    await eventually('probe → billing', async () => (await dial(forwarded, ip, 5000)) === 'ok', 30_000);
    const before = await objectUids();
    const podsBefore = (await operatorPods(k)).map((p) => p.name);
    expect(podsBefore).toHaveLength(2);

    const imageN = cluster.image!;
    const imageNext = `${imageN}-next`;
    await tagInNode(imageN, imageNext);
    overlay = writeOverlay(imageNext);
    // The CRDs come before the Deployment in what kubectl applies (docs/UPGRADING.md: one apply).
    const rendered = await kk(['kustomize', overlay]);
    const firstDeployment = rendered.indexOf('\nkind: Deployment');
    expect(rendered.lastIndexOf('\nkind: CustomResourceDefinition')).toBeLessThan(firstDeployment);
    expect(rendered).toContain(`image: ${imageNext}`);

    const start = Date.now();
    const webhook = sampleDuring(
      1000,
      async () => ((await webhookAnswers(k).catch(() => false)) ? 'ok' : 'no answer'),
      async () => {
        await kk(['apply', '--server-side', '-k', overlay!]);
        await kk(['-n', NS, 'rollout', 'status', 'deployment/spaces-operator', '--timeout=300s']);
        // The rollout is done once the new ReplicaSet is Available; an old pod may still be
        // Terminating (handing the Lease over). Every old pod must be gone, not merely terminating.
        await kk(['-n', NS, 'wait', '--for=delete', ...podsBefore.map((p) => `pod/${p}`), '--timeout=120s']);
        await appsReady();
      },
    );
    const { verdicts } = await sampleDuring(
      200,
      () => dial(forwarded, ip, 5000),
      () => webhook,
    );
    const answers = (await webhook).verdicts;
    const ms = Date.now() - start;
    const refused = verdicts.filter((v) => v !== 'ok');
    const unanswered = answers.filter((v) => v !== 'ok');
    console.log(
      `kustomize upgrade N → N+1: ${ms} ms; ${verdicts.length} probes of billing, ${refused.length} not ok; ` +
        `${answers.length} webhook calls, ${unanswered.length} not answered`,
    );
    expect(verdicts.length, 'a probe every 200 ms or so').toBeGreaterThan(ms / 400);
    expect(refused).toEqual([]);
    expect(answers.length, 'a webhook call every second or so').toBeGreaterThan(ms / 2000);
    expect(unanswered, 'the fail-closed webhook answered throughout').toEqual([]);

    const podsAfter = await operatorPods(k);
    expect(
      podsAfter.filter((p) => podsBefore.includes(p.name)),
      'every old operator pod replaced',
    ).toEqual([]);
    expect(podsAfter.map((p) => [p.image, p.ready])).toEqual([
      [imageNext, true],
      [imageNext, true],
    ]);
    const args = await kk([
      '-n',
      NS,
      'get',
      'deploy',
      'spaces-operator',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].args}',
    ]);
    expect(args).toContain('--concurrency=8');
    expect(args).toContain(`--allowed-dns-suffixes=${LOCAL_DNS_SUFFIXES.join(',')}`);
    expect(await objectUids(), 'no Space, App, Peering, Service or NetworkPolicy lost or re-created').toEqual(
      before,
    );
  }, 900_000);

  it('after the upgrade: the new CRDs are served, a new pod leads and reconciles a new App', async () => {
    for (const crd of ['spaces', 'apps', 'peerings']) {
      const columns = await kk([
        'get',
        'crd',
        `${crd}.privatespaces.dev`,
        '-o',
        'jsonpath={.spec.versions[0].additionalPrinterColumns[*].name}',
      ]);
      expect(columns.split(' '), `${crd}: the column version N+1 added`).toContain(NEW_COLUMN);
    }
    expect(await kk(['-n', 'acme', 'get', 'apps.privatespaces.dev', 'billing'])).toMatch(/REVISION/);
    let holder: string | undefined;
    await eventually(
      'a new operator pod holding the Lease',
      async () => !!(holder = await leaseHolder(k)),
      60_000,
    );
    expect((await operatorPods(k)).map((p) => p.name)).toContain(holder);

    const app = {
      apiVersion: 'privatespaces.dev/v1alpha1',
      kind: 'App',
      metadata: { name: 'reports', namespace: 'acme' },
      spec: { internalRouting: true, port: 7000 },
    };
    const start = Date.now();
    await kk(['apply', '-f', '-'], JSON.stringify(app));
    await kk([
      '-n',
      'acme',
      'wait',
      '--for=condition=Ready',
      'apps.privatespaces.dev/reports',
      '--timeout=90s',
    ]);
    const uid = await kk(['-n', 'acme', 'get', 'svc', 'reports', '-o', 'jsonpath={.metadata.uid}']);
    expect(uid, 'the App Service the new leader made').not.toBe('');
    console.log(`after the upgrade: App reports Ready in ${Date.now() - start} ms (leader ${holder})`);
  }, 300_000);
});
