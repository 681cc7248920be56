// The webhook judges live pods, not imagined ones (issue 16, attacks 4, 7 and 8), against a real
// kube-apiserver: the webhook runs in-process on 127.0.0.1 (as in webhook.test.ts) over an apiLookup,
// and every request is a `kubectl` command as a tenant would type it. No kubelet runs here, so pods stay
// Pending: they exist with their real labels and spec, which is all the webhook reads. One pod with
// hostNetwork is created before the webhook is registered, standing for a pod older than the rule.
// The Space's namespace is made here without Pod Security labels, so the apiserver's own PodSecurity
// admission lets everything through and every refusal below is the webhook's own line.
// afterAll deletes the configuration first so no later test file is blocked.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { kubectl, type KubectlResult } from '../../tools/harness/kubectl.ts';
import { appProbe, untilWebhookServes } from '../support/kube.ts';
import { KubeClient } from '../../src/engine/kubeclient.ts';
import { freePort } from '../../tools/harness/process.ts';
import { apiLookup } from '../support/apilookup.ts';
import { startWebhook, WEBHOOK_CONFIGURATION_NAME, type Webhook } from '../../src/webhook/index.ts';

const kubeconfig = testKubeconfig();
const k = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);
const id = Date.now().toString(36);
const OPS = `wlop-${id}`; // the operator's namespace (certificate Secret)
const SPACE = `wls-${id}`; // a cedar Space, and its namespace
const PLAIN = `wlp-${id}`; // a namespace of no Space
const APP = 'privatespaces.dev/app';

let api: KubeClient;
let webhook: Webhook | undefined;

async function ok(args: string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout + r.stderr;
}

/** kubectl with `args` (stdin `input`), expected to be refused by the webhook; the message, one line. */
async function refusedBy(args: string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `should be refused; stdout: ${r.stdout}`).not.toBe(0);
  expect(r.stderr).toContain('denied the request');
  return r.stderr.replace(/\s+/g, ' ');
}
const refused = (yaml: string): Promise<string> => refusedBy(['apply', '-f', '-'], yaml);
const apply = (yaml: string): Promise<string> => ok(['apply', '-f', '-'], yaml);

const appYaml = (name: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: { name: ${name}, namespace: ${SPACE} }\nspec: ${spec}\n`;
const podYaml = (name: string, labels: string, spec = ''): string =>
  `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, namespace: ${SPACE}, labels: ${labels} }\n` +
  `spec: { ${spec}${spec ? ', ' : ''}containers: [{ name: c, image: registry.invalid/app:1, ports: [{ containerPort: 5000 }] }] }\n`;
const serviceYaml = (name: string, spec: string, ns = SPACE): string =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: ${spec}\n`;

beforeAll(async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  api = new KubeClient(kc);
  await ok(['create', 'namespace', OPS]);
  await ok(['create', 'namespace', PLAIN]);
  // No operator runs here: make the Space's namespace as it would (label included).
  await apply(
    `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${SPACE} }\nspec: { cidr: 10.42.0.0/16 }\n`,
  );
  await apply(
    `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${SPACE}, labels: { privatespaces.dev/space: ${SPACE} } }\n`,
  );
  // Older than the webhook: a host-network pod with unrelated labels.
  await apply(podYaml('old-agent', '{ role: agent }', 'hostNetwork: true'));
  const port = await freePort();
  webhook = startWebhook({
    api,
    port,
    namespace: OPS,
    serviceName: 'spaces-operator-webhook',
    url: `https://127.0.0.1:${port}/validate`,
    lookup: apiLookup(api),
  });
  await webhook.ready;
  await untilWebhookServes(k, appProbe(PLAIN));
  await apply(appYaml('billing', '{ internalRouting: true }'));
  await apply(appYaml('www', '{ internalRouting: false }'));
  // billing's live pod carries a second label, tier=x.
  await apply(podYaml('billing-1', `{ ${APP}: billing, tier: x }`));
  await apply(podYaml('www-1', `{ ${APP}: www, tier: public }`));
});

afterAll(async () => {
  await k(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '--ignore-not-found']);
  await webhook?.stop();
  await k(['delete', 'spaces.privatespaces.dev', SPACE, '--ignore-not-found', '--wait=false']);
  await k(['delete', 'namespace', OPS, PLAIN, SPACE, '--ignore-not-found', '--wait=false']);
});

describe('Services, Ingress and ExternalName are judged on the pods they really select (attack 8)', () => {
  it("refuses a NodePort on a second label billing's live pod carries, naming the pod", async () => {
    const msg = await refused(
      serviceYaml(
        'leak',
        '{ type: NodePort, selector: { tier: x }, ports: [{ port: 80, targetPort: 5000 }] }',
      ),
    );
    expect(msg).toContain('admission webhook "exposure.privatespaces.dev" denied the request');
    expect(msg).toContain(
      `Service "${SPACE}/leak" is invalid: spec.type: a NodePort Service must not select the pods of the ` +
        'internally routed App "billing" (it selects its pod "billing-1")',
    );
  });

  it('refuses it with --dry-run=server too, and a LoadBalancer or externalIPs the same way', async () => {
    const np = serviceYaml('leak', '{ type: NodePort, selector: { tier: x }, ports: [{ port: 80 }] }');
    await refusedBy(['apply', '--dry-run=server', '-f', '-'], np);
    const lb = serviceYaml('leak', '{ type: LoadBalancer, selector: { tier: x }, ports: [{ port: 80 }] }');
    expect(await refused(lb)).toContain('a LoadBalancer Service must not select');
    const ips = serviceYaml(
      'leak',
      '{ selector: { tier: x }, externalIPs: [198.51.100.9], ports: [{ port: 80 }] }',
    );
    expect(await refused(ips)).toContain('spec.externalIPs: a Service with externalIPs must not select');
  });

  it('admits a NodePort on a label only an external pod carries', async () => {
    await apply(
      serviceYaml('public', '{ type: NodePort, selector: { tier: public }, ports: [{ port: 80 }] }'),
    );
  });

  it('refuses relabelling a pod under billing while a NodePort selects it (the Service came first)', async () => {
    const msg = await refusedBy(['label', 'pod', 'www-1', '-n', SPACE, '--overwrite', `${APP}=billing`]);
    expect(msg).toContain(
      `Pod ${SPACE}/www-1 is invalid: metadata.labels: pods labelled {${APP}=billing, tier=public} belong to ` +
        'the internally routed App "billing" and would be selected by a NodePort Service "public"',
    );
  });

  it("refuses an Ingress to a tenant's own ClusterIP Service that selects billing's pod", async () => {
    await apply(serviceYaml('mine', '{ selector: { tier: x }, ports: [{ port: 80, targetPort: 5000 }] }'));
    const ingress =
      `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: web, namespace: ${SPACE} }\n` +
      'spec: { rules: [{ host: x.example.com, http: { paths: [{ path: /, pathType: Prefix, ' +
      'backend: { service: { name: mine, port: { number: 80 } } } }] } }] }\n';
    const msg = await refused(ingress);
    expect(msg).toContain(
      'spec.rules[0].http.paths[0].backend.service.name: Service "mine" belongs to the internally routed App "billing"',
    );
  });

  it('refuses an ExternalName, from another namespace, to that tenant Service', async () => {
    const alias = serviceYaml(
      'alias',
      `{ type: ExternalName, externalName: mine.${SPACE}.svc.cluster.local }`,
      PLAIN,
    );
    expect(await refused(alias)).toContain(
      `spec.externalName: "mine.${SPACE}.svc.cluster.local" names the internally routed App "billing"`,
    );
  });
});

describe('App selectors may not overlap another App (attack 4)', () => {
  it("refuses an external App whose selector picks billing's live pod", async () => {
    const msg = await refused(appYaml('evil', '{ selector: { matchLabels: { tier: x } } }'));
    expect(msg).toContain('admission webhook "resources.privatespaces.dev" denied the request');
    expect(msg).toContain(`App "${SPACE}/evil" is invalid: spec.selector.matchLabels: {tier=x} can select`);
    expect(msg).toContain('(pod "billing-1" matches both now)');
    expect(msg).toContain(
      'the external App "evil" would get a LoadBalancer for pods of the internally routed App',
    );
  });

  it("refuses an UPDATE that moves www's selector onto billing's pods; admits a distinct one", async () => {
    const msg = await refused(
      appYaml('www', `{ internalRouting: false, selector: { matchLabels: { ${APP}: billing } } }`),
    );
    expect(msg).toContain('can select the same pods as App "billing"');
    await apply(appYaml('reports', '{ internalRouting: true }'));
  });
});

describe('host access in a Space namespace (attack 7)', () => {
  it('refuses a hostNetwork pod with unrelated labels, and a hostPID Deployment', async () => {
    const msg = await refused(podYaml('agent', '{ role: agent2 }', 'hostNetwork: true'));
    expect(msg).toContain('admission webhook "workloads.privatespaces.dev" denied the request');
    expect(msg).toContain(
      `Pod ${SPACE}/agent would run pods with spec.hostNetwork: true in the namespace of Space`,
    );
    const deployment =
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d, namespace: ${SPACE} }\n` +
      'spec: { selector: { matchLabels: { role: d } }, template: { metadata: { labels: { role: d } }, ' +
      'spec: { hostPID: true, containers: [{ name: c, image: registry.invalid/x:1 }] } } }\n';
    expect(await refused(deployment)).toContain('spec.template.spec.hostPID: true');
  });

  it('refuses a CronJob whose job template asks for a hostPort', async () => {
    const cron =
      `apiVersion: batch/v1\nkind: CronJob\nmetadata: { name: cj, namespace: ${SPACE} }\n` +
      "spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: Never, " +
      'containers: [{ name: c, image: registry.invalid/x:1, ports: [{ containerPort: 53, hostPort: 53 }] }] } } } } }\n';
    expect(await refused(cron)).toContain(
      'spec.jobTemplate.spec.template.spec.containers[0].ports[0].hostPort: 53',
    );
  });

  it('admits the same pod outside every Space', async () => {
    const pod = podYaml('agent', '{ role: agent }', 'hostNetwork: true').replace(
      `namespace: ${SPACE}`,
      `namespace: ${PLAIN}`,
    );
    await apply(pod);
  });

  it("refuses moving the old hostNetwork pod under billing's selector; other edits pass with a warning", async () => {
    const msg = await refusedBy(['label', 'pod', 'old-agent', '-n', SPACE, `${APP}=billing`]);
    expect(msg).toContain(
      `Pod ${SPACE}/old-agent would run pods of internal app "billing" with spec.hostNetwork: true`,
    );
    const out = await ok(['annotate', 'pod', 'old-agent', '-n', SPACE, 'note=kept']);
    expect(out).toContain('already like this');
  });

  it('refuses an App selector that picks the running hostNetwork pod', async () => {
    const msg = await refused(
      appYaml('agents', '{ internalRouting: true, selector: { matchLabels: { role: agent } } }'),
    );
    expect(msg).toContain('{role=agent} selects pod "old-agent", which runs with spec.hostNetwork: true');
  });
});
