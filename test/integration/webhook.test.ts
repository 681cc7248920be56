// The validating webhook against a real kube-apiserver, over TLS: the webhook runs in-process on
// 127.0.0.1 with its own CA (a Secret in the operator namespace), registers the
// ValidatingWebhookConfiguration with a URL clientConfig, and every request below is a
// `kubectl apply` the way a user types it. Rules the CRD's CEL holds (internalRouting fixed,
// ACM + Internal Routing, the Space CIDR) are refused by the apiserver before any webhook runs;
// the rest are the webhook's. With the webhook down, CEL still refuses and the webhook fails
// closed. afterAll deletes the configuration so no later test file is blocked.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKubeconfig } from '../support/cluster.ts';
import { kubectl, type KubectlResult } from '../../tools/harness/kubectl.ts';
import { appProbe, untilWebhookServes, expectKubectl } from '../support/kube.ts';
import { KubeClient } from '../../src/engine/kubeclient.ts';
import { freePort } from '../../tools/harness/process.ts';
import { apiLookup } from '../support/apilookup.ts';
import { platformSettings } from '../../src/model/settings.ts';
import { startWebhook, WEBHOOK_CONFIGURATION_NAME, type Webhook } from '../../src/webhook/index.ts';

const kubeconfig = testKubeconfig();
const k = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);
const id = Date.now().toString(36);
const OPS = `whop-${id}`; // the operator's namespace (certificate Secret)
const SPACE = `whs-${id}`; // a cedar Space, and its namespace
const FIR = `whf-${id}`; // a fir Space, and its namespace
const PLAIN = `whp-${id}`; // a namespace of no Space
const SERVICE = 'spaces-operator-webhook';
const SECRET = `${SERVICE}-tls`;

let api: KubeClient;
let port: number;
let webhook: Webhook | undefined;

const { ok, refused } = expectKubectl(k);

const apply = (yaml: string): Promise<string> => ok(['apply', '-f', '-'], yaml);

function start(): Webhook {
  return startWebhook({
    api,
    port,
    namespace: OPS,
    serviceName: SERVICE,
    url: `https://127.0.0.1:${port}/validate`,
    lookup: apiLookup(api),
    // The platform admin allows the custom domains the Apps below use.
    settings: platformSettings({ operatorNamespace: OPS, allowedDnsSuffixes: ['example.com'] }),
  });
}

const spaceYaml = (name: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${name} }\nspec: ${spec}\n`;
const appYaml = (ns: string, name: string, spec: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: ${spec}\n`;
const peeringYaml = (name: string, cidrs: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Peering\nmetadata: { name: ${name}, namespace: ${SPACE} }\nspec: { type: vpc, cidrs: ${cidrs} }\n`;
const serviceYaml = (name: string, type: string, app = 'api'): string =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: ${SPACE} }\n` +
  `spec: { type: ${type}, selector: { privatespaces.dev/app: ${app} }, ports: [{ port: 80, targetPort: 5000 }] }\n`;
// As the operator renders it: a Space namespace enforces Pod Security baseline.
const spaceNamespace = (name: string): string =>
  `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${name}, labels: { privatespaces.dev/space: ${name}, ` +
  'pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/enforce-version: latest, ' +
  'pod-security.kubernetes.io/warn: baseline, pod-security.kubernetes.io/audit: baseline } }\n';

beforeAll(async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  api = new KubeClient(kc);
  await ok(['create', 'namespace', OPS]);
  await ok(['create', 'namespace', PLAIN]);
  port = await freePort();
  webhook = start();
  await webhook.ready;
  await untilWebhookServes(k, appProbe(PLAIN));
  // No operator runs here: make the Spaces' namespaces as it would (label included).
  await apply(spaceYaml(SPACE, '{ cidr: 10.40.0.0/16 }'));
  await apply(spaceYaml(FIR, '{ cidr: 10.41.0.0/16, generation: fir }'));
  await apply(spaceNamespace(SPACE));
  await apply(spaceNamespace(FIR));
  await apply(appYaml(SPACE, 'api', '{ internalRouting: true, domains: [api.example.com] }'));
  await apply(appYaml(SPACE, 'www', '{ internalRouting: false }'));
});

afterAll(async () => {
  // First, so nothing else in the cluster is ever held up by a configuration whose server is gone.
  await k(['delete', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '--ignore-not-found']);
  await webhook?.stop();
  await k(['delete', 'spaces.privatespaces.dev', SPACE, FIR, '--ignore-not-found', '--wait=false']);
  await k(['delete', 'namespace', OPS, PLAIN, SPACE, FIR, '--ignore-not-found', '--wait=false']);
});

describe('registration and certificates', () => {
  it('registers the configuration with a URL, the CA bundle and fail-closed settings', async () => {
    const vwc = JSON.parse(
      await ok(['get', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '-o', 'json']),
    ) as k8s.V1ValidatingWebhookConfiguration;
    const secret = JSON.parse(await ok(['get', 'secret', SECRET, '-n', OPS, '-o', 'json'])) as k8s.V1Secret;
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data ?? {})).toEqual(expect.arrayContaining(['tls.crt', 'tls.key', 'ca.crt']));
    for (const w of vwc.webhooks ?? []) {
      expect(w.failurePolicy).toBe('Fail');
      expect(w.clientConfig.url).toBe(`https://127.0.0.1:${port}/validate`);
      expect(w.clientConfig.caBundle).toBe(secret.data?.['ca.crt']);
    }
  });
});

describe('refusals, as kubectl shows them', () => {
  it('an App in a namespace of no Space (webhook, naming metadata.namespace)', async () => {
    const msg = await refused(appYaml(PLAIN, 'lost', '{}'));
    expect(msg).toContain('admission webhook "resources.privatespaces.dev" denied the request');
    expect(msg).toContain(
      `App "${PLAIN}/lost" is invalid: metadata.namespace: namespace "${PLAIN}" belongs to no Space`,
    );
  });

  it('Internal Routing in a fir Space (webhook, naming spec.internalRouting)', async () => {
    const msg = await refused(appYaml(FIR, 'api', '{ internalRouting: true }'));
    expect(msg).toContain('denied the request');
    expect(msg).toContain('spec.internalRouting: Internal Routing is not available in fir spaces');
  });

  it('ACM together with Internal Routing (CRD CEL, naming spec.acm)', async () => {
    const msg = await refused(appYaml(SPACE, 'secure', '{ internalRouting: true, acm: true }'));
    expect(msg).toContain('spec.acm');
    expect(msg).toContain('a certificate authority cannot validate a private name');
  });

  it('a Space CIDR that is not a private /16 (CRD CEL, naming spec.cidr)', async () => {
    expect(await refused(spaceYaml(`bad-${id}`, '{ cidr: 10.0.0.0/8 }'))).toMatch(
      /spec\.cidr.*must be a \/16/,
    );
    expect(await refused(spaceYaml(`bad-${id}`, '{ cidr: 8.8.0.0/16 }'))).toMatch(/spec\.cidr.*RFC 1918/);
  });

  it('changing internalRouting, either way (naming spec.internalRouting)', async () => {
    const msg = await refused(
      appYaml(SPACE, 'api', '{ internalRouting: false, domains: [api.example.com] }'),
    );
    expect(msg).toContain('spec.internalRouting');
    expect(msg).toContain('immutable');
    expect(await refused(appYaml(SPACE, 'www', '{ internalRouting: true }'))).toContain(
      'spec.internalRouting',
    );
  });

  it('a Peering overlapping another Peering of the Space (webhook, naming spec.cidrs[i])', async () => {
    await apply(peeringYaml('office', '[192.168.10.0/24]'));
    const msg = await refused(peeringYaml('branch', '[172.20.0.0/16, 192.168.10.128/25]'));
    expect(msg).toContain(
      `Peering "${SPACE}/branch" is invalid: spec.cidrs[1]: 192.168.10.128/25 overlaps 192.168.10.0/24`,
    );
  });

  it('a NodePort Service selecting an internal app (webhook, naming spec.type)', async () => {
    const msg = await refused(serviceYaml('leak', 'NodePort'));
    expect(msg).toContain('admission webhook "exposure.privatespaces.dev" denied the request');
    expect(msg).toContain(
      `Service "${SPACE}/leak" is invalid: spec.type: a NodePort Service must not select the pods of the internally routed App "api"`,
    );
  });

  it('an Ingress to an internal app (webhook, naming the backend field)', async () => {
    const ing =
      `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: web, namespace: ${SPACE} }\n` +
      'spec: { rules: [{ host: api.example.com, http: { paths: [{ path: /, pathType: Prefix, ' +
      'backend: { service: { name: api, port: { number: 80 } } } }] } }] }\n';
    const msg = await refused(ing);
    expect(msg).toContain(
      'spec.rules[0].http.paths[0].backend.service.name: Service "api" belongs to the internally routed App "api"',
    );
  });

  it('a NetworkPolicy opening an internal app to everyone (webhook, reach guard)', async () => {
    const np =
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: open, namespace: ${SPACE} }\n` +
      'spec: { podSelector: { matchLabels: { privatespaces.dev/app: api } }, ingress: [{}] }\n';
    expect(await refused(np)).toContain('would admit any source to internal app "api"');
  });
});

describe('ownership and canonical CIDRs (issue 16, attacks 11 and 12)', () => {
  const plainPolicy = (name: string, cidr?: string): string =>
    `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: ${PLAIN} }\n` +
    (cidr
      ? `spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: "${cidr}" } }] }] }\n`
      : 'spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }\n');

  it('a Service labelled as managed by the operator (owned.privatespaces.dev, naming the label)', async () => {
    const spoof =
      `apiVersion: v1\nkind: Service\nmetadata: { name: fake, namespace: ${SPACE}, labels: { app.kubernetes.io/managed-by: spaces-operator } }\n` +
      'spec: { selector: { a: b }, ports: [{ port: 80 }] }\n';
    const msg = await refused(spoof);
    expect(msg).toContain('admission webhook "owned.privatespaces.dev" denied the request');
    expect(msg).toContain(`Service "${SPACE}/fake" carries metadata.labels["app.kubernetes.io/managed-by"]`);
  });

  it('a non-canonical ipBlock in a namespace of no Space (cidrs.privatespaces.dev)', async () => {
    const msg = await refused(plainPolicy('octal', '010.0.0.0/8'));
    expect(msg).toContain('admission webhook "cidrs.privatespaces.dev" denied the request');
    expect(msg).toContain(
      `NetworkPolicy "${PLAIN}/octal" is invalid: spec.ingress[0].from[0].ipBlock.cidr: "010.0.0.0/8" is not canonical; write 10.0.0.0/8`,
    );
    await apply(plainPolicy('canonical', '10.0.0.0/8'));
  });
});

describe('allowed changes', () => {
  it('editing the domains of an internal app', async () => {
    const out = await apply(
      appYaml(SPACE, 'api', '{ internalRouting: true, domains: [api.example.com, api2.example.com] }'),
    );
    expect(out).toContain('configured');
  });

  it('a LoadBalancer Service for an external app and a ClusterIP Service for an internal one', async () => {
    await apply(serviceYaml('www-lb', 'LoadBalancer', 'www'));
    await apply(serviceYaml('api-internal', 'ClusterIP'));
  });

  it('a Peering that overlaps nothing', async () => {
    await apply(peeringYaml('datacenter', '[192.168.20.0/24]'));
  });
});

describe('with the webhook server stopped (configuration still registered)', () => {
  let before: string;

  beforeAll(async () => {
    before = JSON.parse(await ok(['get', 'secret', SECRET, '-n', OPS, '-o', 'json'])).data[
      'tls.crt'
    ] as string;
    await webhook?.stop();
    webhook = undefined;
  });

  it('a change of internalRouting is still refused (CRD CEL)', async () => {
    const msg = await refused(
      appYaml(SPACE, 'api', '{ internalRouting: false, domains: [api.example.com] }'),
    );
    expect(msg).toContain('spec.internalRouting');
    expect(msg).toContain('immutable');
  });

  it('a NodePort Service is refused: the webhook fails closed', async () => {
    const msg = await refused(serviceYaml('leak', 'NodePort'));
    expect(msg).toContain('failed calling webhook "exposure.privatespaces.dev"');
  });

  it('a ClusterIP Service is not held up (a matchCondition keeps it from the webhook)', async () => {
    await apply(serviceYaml('api-internal-2', 'ClusterIP'));
  });

  it('outside Spaces only NetworkPolicies with an ipBlock wait for the webhook (a matchCondition)', async () => {
    const plain = (name: string, from: string): string =>
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: ${PLAIN} }\n` +
      `spec: { podSelector: {}, ingress: [{ from: [${from}] }] }\n`;
    await apply(plain('pods-only', '{ podSelector: {} }'));
    const msg = await refused(plain('with-block', '{ ipBlock: { cidr: 10.0.0.0/8 } }'));
    expect(msg).toContain('failed calling webhook "cidrs.privatespaces.dev"');
  });

  it('a restarted webhook reuses the certificate in the Secret and serves again', async () => {
    webhook = start();
    await webhook.ready;
    const after = JSON.parse(await ok(['get', 'secret', SECRET, '-n', OPS, '-o', 'json'])).data[
      'tls.crt'
    ] as string;
    expect(after).toBe(before);
    await untilWebhookServes(k, appProbe(PLAIN));
    expect(await refused(serviceYaml('leak', 'NodePort'))).toContain('denied the request');
  });

  it('a lost Secret is re-issued: the new CA is injected and served without a restart', async () => {
    await ok(['delete', 'secret', SECRET, '-n', OPS]);
    await webhook!.refresh();
    const secret = JSON.parse(await ok(['get', 'secret', SECRET, '-n', OPS, '-o', 'json'])) as k8s.V1Secret;
    expect(secret.data?.['tls.crt']).not.toBe(before);
    const vwc = JSON.parse(
      await ok(['get', 'validatingwebhookconfiguration', WEBHOOK_CONFIGURATION_NAME, '-o', 'json']),
    ) as k8s.V1ValidatingWebhookConfiguration;
    for (const w of vwc.webhooks ?? []) expect(w.clientConfig.caBundle).toBe(secret.data?.['ca.crt']);
    await untilWebhookServes(k, appProbe(PLAIN));
    expect(await refused(serviceYaml('leak', 'NodePort'))).toContain('denied the request');
  });
});
