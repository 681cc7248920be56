#!/usr/bin/env node
// The operator's entry point: `npm start` (current kubeconfig or in-cluster config) and the
// container's command. Flags override the environment; SIGTERM/SIGINT stop it gracefully.
import { parseArgs } from 'node:util';
import { listFlag, type PodSecurityLevel } from './model/settings.ts';
import { startOperator } from './operator.ts';
import { parseTlsIssuer, type CertManagerIssuer } from './tls/objects.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    namespace: { type: 'string' },
    'leader-elect': { type: 'boolean', default: false },
    'webhook-port': { type: 'string', default: '9443' },
    'webhook-url': { type: 'string' },
    'webhook-host': { type: 'string' },
    'no-webhook': { type: 'boolean', default: false },
    'cert-manager': { type: 'boolean', default: false },
    'health-port': { type: 'string', default: '8080' },
    concurrency: { type: 'string', default: '4' },
    'resync-seconds': { type: 'string', default: '0' },
    'no-dns': { type: 'boolean', default: false },
    'allowed-dns-suffixes': { type: 'string' },
    'cluster-cidrs': { type: 'string' },
    'pod-security': { type: 'string', default: 'baseline' },
    'tls-issuer': { type: 'string', default: 'operator' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`spaces-operator: reconciles privatespaces.dev Spaces, Apps and Peerings.

  --kubeconfig PATH       kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --namespace NS          the operator's namespace: Lease, webhook Secret (default: $POD_NAMESPACE or spaces-system)
  --leader-elect          take a Lease before reconciling (run 2 replicas)
  --webhook-port N        HTTPS port of the admission webhook (default 9443)
  --webhook-url URL       register the webhook by URL instead of the in-cluster Service (local runs)
  --no-webhook            do not serve or register the webhook
  --cert-manager          use cert-manager's certificate instead of managing one
  --health-port N         /healthz, /readyz and /metrics (default 8080)
  --concurrency N         reconciles in flight per controller (default 4)
  --resync-seconds N      periodic full resync (default 0: off)
  --no-dns                do not maintain CoreDNS entries
  --allowed-dns-suffixes  comma-separated DNS suffixes Spaces' dnsDomain and Apps' custom domains may use
                          (default: none; only each Space's own domain)
  --cluster-cidrs         comma-separated cluster ranges no Peering may cover, beyond what the API shows
                          (ServiceCIDRs, node pod CIDRs and addresses)
  --pod-security LEVEL    Pod Security level enforced on Space namespaces: baseline (default) or restricted
  --tls-issuer ISSUER     who issues the Apps' certificates: operator (default: a CA per Space) or
                          cert-manager:ClusterIssuer/<name> / cert-manager:Issuer/<name> (one per Space namespace)`);
  process.exit(0);
}

const op = await startOperator({
  kubeconfigPath: values.kubeconfig,
  namespace: values.namespace ?? process.env['POD_NAMESPACE'] ?? 'spaces-system',
  identity: process.env['POD_NAME'],
  leaderElection: values['leader-elect'],
  webhook: values['no-webhook']
    ? false
    : {
        port: Number(values['webhook-port']),
        url: values['webhook-url'],
        host: values['webhook-host'],
        certManager: values['cert-manager'],
      },
  healthPort: Number(values['health-port']),
  concurrency: Number(values.concurrency),
  resyncMs: Number(values['resync-seconds']) * 1000,
  dns: !values['no-dns'],
  settings: {
    allowedDnsSuffixes: listFlag(values['allowed-dns-suffixes']),
    clusterCidrs: listFlag(values['cluster-cidrs']),
    podSecurity: podSecurityLevel(values['pod-security']),
  },
  tls: { issuer: tlsIssuer(values['tls-issuer']) },
});

function tlsIssuer(v: string | undefined): CertManagerIssuer | undefined {
  try {
    return parseTlsIssuer(v);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}

function podSecurityLevel(v: string | undefined): PodSecurityLevel {
  if (v === 'baseline' || v === 'restricted') return v;
  console.error(`--pod-security: "${v}" is not baseline or restricted`);
  process.exit(2);
}

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void op.stop().then(() => process.exit(0));
  });
}
