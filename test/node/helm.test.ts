// The Helm chart on a real node (kubelet, containerd, kube-proxy, kube-router, CoreDNS pods), the
// way a platform team runs it: `helm install` (helm built from its Go module) with the operator's
// image built from the Dockerfile brings the operator Ready; with the examples' Apps running real
// pods, `helm upgrade` to the next chart version with changed values rolls the operator while a pod
// of the Space probes `billing` every 200 ms, none refused, and loses no object; `helm uninstall`
// removes the operator and its webhook and leaves the Space's namespace, its Apps, their data and
// their traffic in place, and the install notes say how to remove the CRDs. Root only.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { startControlPlane, type ControlPlane } from '../../tools/harness/controlplane.ts';
import { operatorImage } from '../../tools/harness/images.ts';
import { NODE_APISERVER_ARGS, nodeUnavailable, startNode, type LocalNode } from '../../tools/harness/node.ts';
import { tool } from '../../tools/release/bin.ts';
import { agnhostPod, dial, portForward, sampleDuring, type PortForward } from './traffic.ts';

const run = promisify(execFile);
const reason = nodeUnavailable();
if (reason) console.warn(`test/node/helm: skipped: ${reason}`);

const NS = 'spaces-system';
let cp: ControlPlane;
let node: LocalNode;
let helmBin: string;
let image: { repository: string; tag: string };
let installNotes = '';
/** Port-forwards to end whatever happens. */
const forwards: Array<() => void> = [];

async function k(args: string[], input?: string): Promise<string> {
  const r = await cp.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function helm(args: string[]): Promise<string> {
  const home = path.join(cp.dir, 'helm-home');
  const env = {
    ...process.env,
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_DATA_HOME: path.join(home, 'data'),
  };
  try {
    const { stdout } = await run(helmBin, [...args, '--kubeconfig', cp.kubeconfigPath], {
      env,
      maxBuffer: 16 << 20,
    });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const pods = await cp.kubectl(['-n', NS, 'get', 'pods,events', '-o', 'wide']);
    throw new Error(`helm ${args.join(' ')}: ${e.stderr}\n${e.stdout}\n${pods.stdout}`, { cause: err });
  }
}

/** `agnhost connect` from a pod: 'ok', or the first line of what went wrong (REFUSED, TIMEOUT, …). */
async function connect(from: string, target: string, ns: string): Promise<string> {
  const r = await cp.kubectl(['exec', '-n', ns, from, '--', '/agnhost', 'connect', target, '--timeout=1s']);
  return r.code === 0 ? 'ok' : (r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`);
}

/** A port-forward to the probe pod's agnhost netexec (test/node/traffic.ts), stopped after the file. */
async function forwardTo(ns: string, pod: string, port: number): Promise<PortForward> {
  const f = await portForward(cp.kubeconfigPath, { ns, pod, port });
  forwards.push(f.stop);
  return f;
}

/** uid of every Space, App, Peering, Service and NetworkPolicy, by kind/namespace/name. */
async function objectUids(): Promise<Record<string, string>> {
  const out = await k([
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

describe.skipIf(reason)('the Helm chart on a real node', () => {
  beforeAll(async () => {
    cp = await startControlPlane({ apiserverArgs: NODE_APISERVER_ARGS });
    node = await startNode(cp, { log: (l) => console.log(l) });
    helmBin = await tool('helm');
    const built = await operatorImage((l) => console.log(l));
    await node.importImage(built.tar);
    const colon = built.name.lastIndexOf(':');
    image = { repository: built.name.slice(0, colon), tag: built.name.slice(colon + 1) };
  });

  afterAll(async () => {
    for (const stop of forwards) stop();
    await node?.stop();
    await cp?.stop();
  });

  it('helm install brings the operator Ready: 2 replicas, a leader, the webhook answering', async () => {
    const start = Date.now();
    installNotes = await helm([
      'install',
      'spaces-operator',
      path.join(repoRoot, 'charts/spaces-operator'),
      '--namespace',
      NS,
      '--create-namespace',
      '--set',
      `image.repository=${image.repository},image.tag=${image.tag},image.pullPolicy=Never`,
      '--set',
      'allowedDnsSuffixes={acme.internal,acme.example}',
      '--wait',
      '--timeout',
      '5m',
    ]);
    console.log(`helm install → Deployment Available: ${Date.now() - start} ms`);
    expect(
      await k(['-n', NS, 'get', 'deploy', 'spaces-operator', '-o', 'jsonpath={.status.readyReplicas}']),
    ).toBe('2');
    const leader = async (): Promise<string> =>
      (
        await k(['-n', NS, 'get', 'lease', 'spaces-operator', '-o', 'jsonpath={.spec.holderIdentity}']).catch(
          () => '',
        )
      ).trim();
    await waitUntil('a leader', async () => (await leader()) !== '', 60_000);
    // The webhook answers through its Service (failurePolicy Fail: a dead one refuses every write).
    const space =
      'apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: dry-run }\n' +
      'spec: { cidr: 10.99.0.0/16, region: us, generation: cedar }\n';
    let last = '';
    await waitUntil(
      'the webhook answering',
      async () => {
        const r = await cp.kubectl(['create', '--dry-run=server', '-f', '-'], space);
        last = r.stderr;
        return r.code === 0;
      },
      90_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${last}`, { cause: err });
    });
    const ca = await k([
      'get',
      'validatingwebhookconfiguration',
      'spaces-operator',
      '-o',
      'jsonpath={.webhooks[0].clientConfig.caBundle}',
    ]);
    expect(ca.length).toBeGreaterThan(100);
    console.log(
      `helm install → operator Ready, leader ${await leader()}, webhook answering: ${Date.now() - start} ms`,
    );
  }, 600_000);

  it('helm upgrade to the next chart version keeps every App Ready and billing reachable from the Space (200 ms probes)', async () => {
    await k(['apply', '-f', path.join(repoRoot, 'examples')]);
    await k(['wait', '--for=condition=Ready', 'space/acme', '--timeout=90s']);
    const web = (app: string): Record<string, string> => ({
      'privatespaces.dev/app': app,
      'privatespaces.dev/process': 'web',
    });
    await k(['apply', '-f', '-'], agnhostPod('billing-web', 'acme', web('billing'), 5000));
    await k(['apply', '-f', '-'], agnhostPod('www-web', 'acme', web('www'), 8080));
    await k(['apply', '-f', '-'], agnhostPod('probe', 'acme', { role: 'probe' }, 8081));
    await k([
      '-n',
      'acme',
      'wait',
      '--for=condition=Ready',
      'pod/billing-web',
      'pod/www-web',
      'pod/probe',
      '--timeout=90s',
    ]);
    await k([
      '-n',
      'acme',
      'wait',
      '--for=condition=Ready',
      'apps.privatespaces.dev',
      '--all',
      '--timeout=90s',
    ]);
    // The users' data: a ConfigMap of theirs in the Space namespace.
    await k(['-n', 'acme', 'create', 'configmap', 'ledger', '--from-literal=balance=42']);
    const ip = (await k(['-n', 'acme', 'get', 'svc', 'billing', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const forward = await forwardTo('acme', 'probe', 8081);
    await waitUntil('probe → billing', async () => (await dial(forward.port, ip, 5000)) === 'ok', 30_000);
    const before = await objectUids();
    const podsBefore = (await k(['-n', NS, 'get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}']))
      .trim()
      .split(' ');

    // Version N+1: the chart's version bumped, and changed values that roll the operator's pods.
    const next = mkdtempSync(path.join(tmpdir(), 'chart-next-'));
    cpSync(path.join(repoRoot, 'charts/spaces-operator'), next, { recursive: true, dereference: true });
    const chartYaml = path.join(next, 'Chart.yaml');
    writeFileSync(
      chartYaml,
      readFileSync(chartYaml, 'utf8').replace(/^version: .*$/m, 'version: 0.1.1-next'),
    );
    const start = Date.now();
    const billing = { everyMs: 200, check: () => dial(forward.port, ip, 5000) };
    const {
      verdicts: { billing: verdicts },
    } = await sampleDuring({ billing }, async () => {
      await helm([
        'upgrade',
        'spaces-operator',
        next,
        '--namespace',
        NS,
        '--reuse-values',
        '--set',
        'concurrency=8,podAnnotations.upgraded=n1',
        '--wait',
        '--timeout',
        '5m',
      ]);
      // Past the rollout: the new leader has resynced every App.
      await k([
        '-n',
        'acme',
        'wait',
        '--for=condition=Ready',
        'apps.privatespaces.dev',
        '--all',
        '--timeout=90s',
      ]);
    });
    const ms = Date.now() - start;
    forward.stop();
    const refused = verdicts.filter((v) => v !== 'ok');
    console.log(`helm upgrade: ${ms} ms, ${verdicts.length} probes of billing, ${refused.length} not ok`);
    expect(verdicts.length, 'a probe every 200 ms or so').toBeGreaterThan(ms / 400);
    expect(refused).toEqual([]);

    // `helm upgrade --wait` returns once the new ReplicaSet is Available; an old pod may still be
    // Terminating (its graceful shutdown hands the Lease over). Every old pod must be gone, not
    // merely terminating, within the grace period.
    await k(['-n', NS, 'wait', '--for=delete', ...podsBefore.map((p) => `pod/${p}`), '--timeout=120s']);
    const podsAfter = (await k(['-n', NS, 'get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}']))
      .trim()
      .split(' ');
    expect(
      podsAfter.filter((p) => podsBefore.includes(p)),
      'every operator pod was replaced',
    ).toEqual([]);
    const args = await k([
      '-n',
      NS,
      'get',
      'deploy',
      'spaces-operator',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].args}',
    ]);
    expect(args).toContain('--concurrency=8');
    expect(args).toContain('--allowed-dns-suffixes=acme.internal,acme.example');
    expect(await helm(['list', '-n', NS, '-o', 'json'])).toContain('spaces-operator-0.1.1-next');
    expect(await objectUids(), 'no Space, App, Peering, Service or NetworkPolicy lost or re-created').toEqual(
      before,
    );
  }, 900_000);

  it('helm uninstall removes the operator and its webhook, keeps the Space, its Apps and their data, and traffic flows', async () => {
    expect(installNotes).toContain(
      'kubectl delete crd spaces.privatespaces.dev apps.privatespaces.dev peerings.privatespaces.dev',
    );
    const before = await objectUids();
    const out = await helm(['uninstall', 'spaces-operator', '--namespace', NS, '--wait', '--timeout', '3m']);
    expect(out).toContain('uninstalled');
    expect((await cp.kubectl(['get', 'validatingwebhookconfiguration', 'spaces-operator'])).code).not.toBe(0);
    expect((await k(['-n', NS, 'get', 'deploy', '-o', 'name'])).trim()).toBe('');
    expect(await objectUids()).toEqual(before);
    expect((await k(['get', 'namespace', 'acme', '-o', 'jsonpath={.status.phase}'])).trim()).toBe('Active');
    expect(await k(['-n', 'acme', 'get', 'configmap', 'ledger', '-o', 'jsonpath={.data.balance}'])).toBe(
      '42',
    );
    expect((await k(['get', 'crd', '-o', 'name'])).match(/privatespaces\.dev/g)).toHaveLength(3);
    const ip = (await k(['-n', 'acme', 'get', 'svc', 'billing', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    expect(await connect('probe', `${ip}:5000`, 'acme')).toBe('ok');
    // Writes are no longer refused by a webhook without a server.
    await k(['-n', 'acme', 'label', 'configmap', 'ledger', 'checked=yes']);
  }, 300_000);
});

async function waitUntil(what: string, fn: () => Promise<boolean>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not within ${withinMs} ms`);
}
