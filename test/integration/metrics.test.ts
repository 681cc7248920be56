// Every metric the dashboard and the alerts of deploy/monitoring read is one the operator exports:
// the operator runs as a process (src/main.ts, as in its pod) against the real apiserver, with its
// webhook registered by URL and its own certificate, reconciles the examples, and its /metrics is
// scraped over HTTP. The two series this issue adds are checked for their values too:
// spaces_certificate_expiry_seconds (the webhook's serving certificate) and spaces_app_exposed
// (1 while an allow-all policy opens the internal App billing, 0 again once it is gone).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../tools/harness/process.ts';
import {
  alertExpressions,
  dashboardExpressions,
  exportedNames,
  metricNames,
  PROMETHEUS_SERIES,
} from '../../tools/release/monitoring.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { applyExamplesAndWait, kubectl, kubectlOk, operatorAccount } from '../support/kube.ts';
import { killAllOperators, startOperatorProcess, type OperatorProcess } from '../support/operator-process.ts';

const kubeconfig = testKubeconfig();
const NS = 'spaces-metrics';
let op: OperatorProcess;

beforeAll(async () => {
  await kubectlOk(kubeconfig, ['create', 'namespace', NS]);
  const { file } = await operatorAccount(kubeconfig, NS, mkdtempSync(path.join(tmpdir(), 'metrics-')));
  const [healthPort, webhookPort] = [await freePort(), await freePort()];
  op = startOperatorProcess(file, {
    name: 'metrics-op',
    healthPort,
    args: [
      '--namespace',
      NS,
      '--webhook-port',
      String(webhookPort),
      '--webhook-url',
      `https://127.0.0.1:${webhookPort}/validate`,
      '--allowed-dns-suffixes=acme.internal,acme.example',
    ],
  });
  await vi.waitFor(
    async () => {
      if (op.dead()) throw new Error(`operator exited:\n${op.output()}`);
      expect(await op.ready(), 'the operator Ready').toBe(true);
    },
    { timeout: 60_000, interval: 200 },
  );
  // Through the webhook (the tests' kubectl is not the operator): decisions get counted.
  await applyExamplesAndWait(kubeconfig);
});

afterAll(async () => {
  // No fail-closed webhook may outlive its server.
  await kubectl(kubeconfig, [
    'delete',
    'validatingwebhookconfiguration',
    'spaces-operator',
    '--ignore-not-found',
  ]);
  await killAllOperators();
});

describe('deploy/monitoring reads only what the operator exports', () => {
  it('every metric of every alert and dashboard panel is on /metrics of a running operator', async () => {
    const exported = exportedNames(await op.metrics());
    const read = [
      ...alertExpressions().map((a) => ({ where: `alert ${a.alert}`, expr: a.expr })),
      ...dashboardExpressions().map((p) => ({ where: `panel "${p.panel}"`, expr: p.expr })),
    ];
    expect(read.length).toBeGreaterThan(20);
    const missing = read.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !exported.has(n) && !PROMETHEUS_SERIES.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
    // The names checked are the ones the files are about (not an empty extraction).
    const names = new Set(read.flatMap((r) => metricNames(r.expr)));
    for (const n of [
      'spaces_app_exposed',
      'spaces_certificate_expiry_seconds',
      'spaces_leader',
      'spaces_workqueue_depth',
    ])
      expect(names).toContain(n);
  });

  it('spaces_certificate_expiry_seconds is the webhook certificate notAfter', async () => {
    const text = await op.metrics();
    const m =
      /^spaces_certificate_expiry_seconds\{namespace="spaces-metrics",name="spaces-operator-webhook-tls"\} (\d+)$/m.exec(
        text,
      );
    expect(
      m,
      text
        .split('\n')
        .filter((l) => l.includes('certificate'))
        .join('\n'),
    ).not.toBeNull();
    const notAfter = Number(m![1]);
    // The Secret's certificate, read back through the API, has the same notAfter.
    const secret = await kubectlOk(kubeconfig, [
      'get',
      'secret',
      'spaces-operator-webhook-tls',
      '-n',
      NS,
      '-o',
      'jsonpath={.data.tls\\.crt}',
    ]);
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(Buffer.from(secret.trim(), 'base64'));
    expect(notAfter).toBe(Math.floor(Date.parse(cert.validTo) / 1000));
    expect(notAfter * 1000).toBeGreaterThan(Date.now() + 30 * 86_400_000);
  });

  it('spaces_app_exposed follows an internal App opened by an allow-all policy, and closed again', async () => {
    expect(await op.metric('spaces_app_exposed', { namespace: 'acme', app: 'billing' })).toBe(0);
    expect(await op.metrics()).toMatch(/^spaces_app_exposed\{namespace="acme",app="billing"\} 0$/m);
    // The webhook would refuse the policy: take its configuration away first (as exposure.test.ts).
    await kubectlOk(kubeconfig, ['delete', 'validatingwebhookconfiguration', 'spaces-operator']);
    const allowAll = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: allow-all, namespace: acme }
spec:
  podSelector: { matchLabels: { privatespaces.dev/app: billing } }
  policyTypes: [Ingress]
  ingress: [{}]
`;
    await kubectlOk(kubeconfig, ['apply', '-f', '-'], allowAll);
    await vi.waitFor(
      async () =>
        expect(await op.metric('spaces_app_exposed', { namespace: 'acme', app: 'billing' })).toBe(1),
      { timeout: 20_000, interval: 200 },
    );
    expect(await op.metric('spaces_app_exposed', { namespace: 'acme', app: 'www' })).toBe(0);
    await kubectlOk(kubeconfig, ['delete', 'networkpolicy', 'allow-all', '-n', 'acme']);
    await vi.waitFor(
      async () =>
        expect(await op.metric('spaces_app_exposed', { namespace: 'acme', app: 'billing' })).toBe(0),
      { timeout: 20_000, interval: 200 },
    );
  });
});
