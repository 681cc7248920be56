// Installs the operator on a real node (tools/harness/node.ts) the way users do: `kubectl kustomize
// deploy/` with the image set to the one built here from the Dockerfile, applied with kubectl. Then
// waits for what a user relies on, each checked where it happens:
//   replicas  the Deployment's two replicas Ready (rollout status), running that image
//   leader    the Lease in spaces-system has a holder that is one of those pods
//   webhook   the apiserver reaches the webhook through its Service: a server-side dry run of a
//             Space whose dnsDomain no platform admin allowed is *denied by the webhook* (only the
//             webhook knows the allowed suffixes; down, the fail-closed call errors instead)
//   dns       every ready CoreDNS pod serves the operator's entries, read from coredns-custom
//             through the kubelet's ConfigMap volume: `app.localspace` answers with the
//             operator's SOA (ns.dns.privatespaces.dev), asked of each pod's own address
// Used by `npm run local`, test/node and test/e2e (node variant), and bench/node.ts.
import { Resolver } from 'node:dns/promises';
import path from 'node:path';
import { repoRoot } from './binaries.ts';
import type { KubectlResult } from './kubectl.ts';
import { waitFor } from './kube.ts';

export { waitFor };

export type Kubectl = (args: string[], input?: string) => Promise<KubectlResult>;

/** The DNS suffixes the local cluster's platform admin allows: those the examples use. */
export const LOCAL_DNS_SUFFIXES = ['acme.internal', 'acme.example'];

export const OPERATOR_NAMESPACE = 'spaces-system';
/** The SOA mname of the operator's zones (src/dns/render.ts). */
const OPERATOR_SOA = 'ns.dns.privatespaces.dev';

export interface InstallOptions {
  /** The operator image (imported into the node's containerd; imagePullPolicy stays the Deployment's). */
  image: string;
  allowedDnsSuffixes?: string[];
  log?: (line: string) => void;
  /** Per wait. Default 180 s. */
  timeoutMs?: number;
}

/** Milliseconds from `kubectl apply` to each milestone. */
export interface InstallTimings {
  replicasReady: number;
  leader: number;
  webhook: number;
  dns: number;
}

export async function kubectlOk(k: Kubectl, args: string[], input?: string): Promise<string> {
  const r = await k(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** `kubectl kustomize deploy/` with `image` and the platform admin's allowed DNS suffixes. */
export async function renderDeploy(k: Kubectl, image: string, suffixes: string[]): Promise<string> {
  const rendered = await kubectlOk(k, ['kustomize', path.join(repoRoot, 'deploy')]);
  const manifest = rendered
    .replace(/image: \S*spaces-operator\S*/g, `image: ${image}`)
    .replace(
      /^(\s*)- --leader-elect$/m,
      `$1- --allowed-dns-suffixes=${suffixes.join(',')}\n$1- --leader-elect`,
    );
  if (suffixes.length > 0 && !manifest.includes('--allowed-dns-suffixes='))
    throw new Error('deploy/ renders no --leader-elect argument to add --allowed-dns-suffixes beside');
  if (!manifest.includes(`image: ${image}`))
    throw new Error('deploy/ renders no spaces-operator image to replace');
  return manifest;
}

/** Applies deploy/ with `image` and waits for replicas, leader, webhook and DNS (see the header). */
export async function installOperator(k: Kubectl, opts: InstallOptions): Promise<InstallTimings> {
  const log = opts.log ?? ((): void => {});
  const within = opts.timeoutMs ?? 180_000;
  const manifest = await renderDeploy(k, opts.image, opts.allowedDnsSuffixes ?? LOCAL_DNS_SUFFIXES);
  log(`kubectl apply -k deploy/ (image ${opts.image})`);
  const start = Date.now();
  await kubectlOk(k, ['apply', '--server-side', '-f', '-'], manifest);
  const since = (): number => Date.now() - start;
  const rollout = ['-n', OPERATOR_NAMESPACE, 'rollout', 'status', 'deployment/spaces-operator'];
  await kubectlOk(k, [...rollout, `--timeout=${Math.round(within / 1000)}s`]);
  const replicasReady = since();
  log(`2/2 operator replicas Ready after ${replicasReady} ms`);
  await waitFor(
    'a leader holding the Lease in spaces-system',
    async () => (await leaseHolder(k)) !== undefined,
    within,
  );
  const leader = since();
  log(`leader ${await leaseHolder(k)} after ${leader} ms`);
  await waitFor('the webhook answering through its Service', () => webhookAnswers(k), within);
  const webhook = since();
  log(`webhook answers through Service spaces-operator-webhook after ${webhook} ms`);
  await waitFor(
    "the operator's DNS entries served by every CoreDNS pod (kubelet ConfigMap sync)",
    () => operatorDnsServed(k),
    within,
  );
  const dns = since();
  log(`the CoreDNS pods serve the operator's entries after ${dns} ms`);
  return { replicasReady, leader, webhook, dns };
}

/** The pod holding the operator's Lease, if that pod exists and is Ready. */
export async function leaseHolder(k: Kubectl): Promise<string | undefined> {
  const out = await kubectlOk(k, [
    '-n',
    OPERATOR_NAMESPACE,
    'get',
    'lease',
    '-o',
    'jsonpath={.items[*].spec.holderIdentity}',
  ]);
  const holder = out.trim().split(/\s+/)[0];
  if (!holder) return undefined;
  const pods = await operatorPods(k);
  return pods.find((p) => p.ready && holder.startsWith(p.name))?.name;
}

export interface OperatorPod {
  name: string;
  ready: boolean;
  image: string;
}

export async function operatorPods(k: Kubectl): Promise<OperatorPod[]> {
  const json = await kubectlOk(k, [
    '-n',
    OPERATOR_NAMESPACE,
    'get',
    'pods',
    '-l',
    'app.kubernetes.io/component=operator',
    '-o',
    'json',
  ]);
  const list = JSON.parse(json) as {
    items: {
      metadata: { name: string; deletionTimestamp?: string };
      spec: { containers: { image: string }[] };
      status: { conditions?: { type: string; status: string }[] };
    }[];
  };
  return list.items.map((p) => ({
    name: p.metadata.name,
    image: p.spec.containers[0]?.image ?? '',
    ready:
      !p.metadata.deletionTimestamp &&
      (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  }));
}

/** A Space only the webhook refuses: its dnsDomain is under no allowed suffix. */
const WEBHOOK_PROBE = JSON.stringify({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'Space',
  metadata: { name: 'webhook-probe' },
  spec: { cidr: '10.250.0.0/16', region: 'us', generation: 'cedar', dnsDomain: 'probe.not-allowed.test' },
});

/** True when the webhook, called by the apiserver through its Service, denied the probe. */
export async function webhookAnswers(k: Kubectl): Promise<boolean> {
  const r = await k(['create', '--dry-run=server', '-f', '-'], WEBHOOK_PROBE);
  if (r.code === 0)
    throw new Error('the webhook admitted a Space under no allowed DNS suffix (is it registered?)');
  return /denied the request/.test(r.stderr) && /not under an allowed suffix/.test(r.stderr);
}

/** Pod IPs of the ready CoreDNS pods (kube-system, k8s-app=kube-dns). */
export async function coreDnsPodIPs(k: Kubectl): Promise<string[]> {
  const out = await kubectlOk(k, [
    '-n',
    'kube-system',
    'get',
    'pods',
    '-l',
    'k8s-app=kube-dns',
    '-o',
    'jsonpath={range .items[*]}{.status.podIP} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
  ]);
  return out
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([ip, ready]) => ip && ready === 'True')
    .map(([ip]) => ip!);
}

/** The SOA `app.localspace` has at DNS server `ip` (undefined when it has none, or no answer). */
export async function soaAt(ip: string, zone = 'app.localspace'): Promise<string | undefined> {
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([ip]);
  try {
    return (await r.resolveSoa(zone)).nsname;
  } catch {
    return undefined;
  }
}

/** True when every ready CoreDNS pod (at least one) serves the operator's zones. */
export async function operatorDnsServed(k: Kubectl): Promise<boolean> {
  const ips = await coreDnsPodIPs(k);
  if (ips.length === 0) return false;
  const soas = await Promise.all(ips.map((ip) => soaAt(ip)));
  return soas.every((s) => s === OPERATOR_SOA);
}
