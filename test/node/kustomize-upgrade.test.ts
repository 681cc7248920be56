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
// `billing` every 200 ms (none refused), the webhook is asked every second (it fails closed, so a
// gap would refuse users' writes), and a host on an untrusted network outside the Space probes
// billing's pod twice a second and never connects (the promise holds at every moment of the roll).
// Then: every old operator pod deleted, every App Ready, no Space/App/Peering/Service/NetworkPolicy
// re-created (uids), and the new leader reconciles a new App on the new CRDs. Root only (in CI a node that cannot run fails the file).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import {
  kubectlOk,
  leaseHolder,
  LOCAL_DNS_SUFFIXES,
  OPERATOR_NAMESPACE as NS,
  operatorPods,
  webhookAnswers,
  type Kubectl,
} from '../../tools/harness/install.ts';
import { nodeUnavailable } from '../../tools/harness/node.ts';
import { startNodeCluster, type NodeCluster } from '../../tools/harness/nodecluster.ts';
import { eventually, nodeSkipReason } from './support.ts';
import { agnhostPod, dial, portForward, sampleDuring, userObjectUids, type Sampler } from './traffic.ts';

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
  await kk(['apply', '-f', '-'], agnhostPod('billing-web', 'acme', web('billing'), 5000));
  await kk(['apply', '-f', '-'], agnhostPod('www-web', 'acme', web('www'), 8080));
  await kk(['apply', '-f', '-'], agnhostPod('probe', 'acme', { role: 'probe' }, 8081));
  await kk([
    '-n',
    'acme',
    'wait',
    '--for=condition=Ready',
    'pod/billing-web',
    'pod/www-web',
    'pod/probe',
    '--timeout=90s',
  ]);
  await appsReady();
}

/**
 * What is sampled through the upgrade, each first seen in its steady state: `billing` through its
 * Service from the probe pod of the Space (must connect), the webhook (must answer), and
 * `intruder`: an outside host on an untrusted network, straight to billing's pod (no Service
 * address translation in the way), which must never connect (the product's promise, at every
 * moment of the roll). Its packets do reach the node's policy firewall: it refuses them (a TCP
 * connection refused, not a silent loss), checked before the upgrade and seen during it.
 */
async function startProbes(): Promise<Record<'billing' | 'webhook' | 'intruder', Sampler>> {
  const get = async (kind: string, name: string, jsonpath: string): Promise<string> =>
    (await kk(['-n', 'acme', 'get', kind, name, '-o', `jsonpath={${jsonpath}}`])).trim();
  const ip = await get('svc', 'billing', '.spec.clusterIP');
  const billingPod = await get('pod', 'billing-web', '.status.podIP');
  const forward = await portForward(cluster.cp.kubeconfigPath, { ns: 'acme', pod: 'probe', port: 8081 });
  forwards.push(forward.stop);
  const intruder = await cluster.node.addOutsideHost('intruder', '198.51.100.0/24');
  const samplers = {
    billing: { everyMs: 200, check: () => dial(forward.port, ip, 5000) },
    webhook: {
      everyMs: 1000,
      check: async (): Promise<string> =>
        (await webhookAnswers(k).catch(String)) === true ? 'ok' : 'no answer',
    },
    intruder: { everyMs: 500, check: () => intruder.connect(billingPod, 5000, 1000) },
  };
  for (const name of ['billing', 'webhook'] as const)
    await eventually(
      `${name} ok before the upgrade`,
      async () => (await samplers[name].check()) === 'ok',
      60_000,
    );
  await eventually(
    'intruder → billing refused by the policy before the upgrade',
    async () => (await samplers.intruder.check()) === 'refused',
    30_000,
  );
  return samplers;
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

  it('kubectl apply -k of N+1 rolls every operator pod; billing reachable from the Space and from nowhere else throughout, the webhook answering, no object re-created', async () => {
    await startSpace();
    const samplers = await startProbes();
    const before = await userObjectUids(k);
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
    const { verdicts } = await sampleDuring(samplers, async () => {
      await kk(['apply', '--server-side', '-k', overlay!]);
      await kk(['-n', NS, 'rollout', 'status', 'deployment/spaces-operator', '--timeout=300s']);
      // The rollout is done once the new ReplicaSet is Available; an old pod may still be
      // Terminating (handing the Lease over). Every old pod must be gone, not merely terminating.
      await kk(['-n', NS, 'wait', '--for=delete', ...podsBefore.map((p) => `pod/${p}`), '--timeout=120s']);
      await appsReady();
    });
    const ms = Date.now() - start;
    const failed = (name: keyof typeof verdicts): string[] => verdicts[name].filter((v) => v !== 'ok');
    console.log(
      `kustomize upgrade N → N+1: ${ms} ms; ` +
        Object.entries(verdicts)
          .map(([name, v]) => `${name}: ${v.length} samples, ${v.filter((x) => x === 'ok').length} ok`)
          .join('; '),
    );
    expect(verdicts.billing.length, 'a probe of billing every 200 ms or so').toBeGreaterThan(ms / 400);
    expect(failed('billing'), 'billing from a pod of its Space').toEqual([]);
    expect(verdicts.webhook.length, 'a webhook call every second or so').toBeGreaterThan(ms / 2000);
    expect(failed('webhook'), 'the fail-closed webhook answered throughout').toEqual([]);
    expect(verdicts.intruder.length, 'a probe from outside every second or so').toBeGreaterThan(ms / 2000);
    expect(
      verdicts.intruder.filter((v) => v === 'ok'),
      'billing (internal) from an untrusted network outside the Space',
    ).toEqual([]);
    // Not lost on the way: the firewall answered (the kernel rate-limits its rejections, so some
    // probes time out instead).
    expect(verdicts.intruder, 'the policy firewall refusing the intruder').toContain('refused');

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
    expect(
      await userObjectUids(k),
      'no Space, App, Peering, Service or NetworkPolicy lost or re-created',
    ).toEqual(before);
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
