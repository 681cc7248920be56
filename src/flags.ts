// The operator's command line: one table of flags gives the parser, the `--help` text (so it lists
// every flag) and the checks. Pure: argv and environment in, options or a message naming the flag out.
import { parseArgs } from 'node:util';
import { listFlag, type PodSecurityLevel } from './model/settings.ts';
import { parseTlsIssuer, type CertManagerIssuer } from './tls/objects.ts';
import type { OperatorOptions } from './operator.ts';

interface Flag {
  type: 'string' | 'boolean';
  /** Shown in --help after the flag (e.g. `N`). */
  arg?: string;
  default?: string;
  help: string;
  short?: string;
}

const FLAGS = {
  kubeconfig: {
    type: 'string',
    arg: 'PATH',
    help: 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)',
  },
  namespace: {
    type: 'string',
    arg: 'NS',
    help: "the operator's namespace: Lease, webhook Secret (default: $POD_NAMESPACE or spaces-system)",
  },
  'leader-elect': { type: 'boolean', help: 'take a Lease before reconciling (run 2 replicas)' },
  'webhook-port': { type: 'string', arg: 'N', default: '9443', help: 'HTTPS port of the admission webhook' },
  'webhook-host': {
    type: 'string',
    arg: 'ADDR',
    help: "the webhook's listen address (default 0.0.0.0, or the host of --webhook-url)",
  },
  'webhook-url': {
    type: 'string',
    arg: 'URL',
    help: 'register the webhook by URL instead of the in-cluster Service (local runs)',
  },
  'no-webhook': { type: 'boolean', help: 'do not serve or register the webhook' },
  'cert-manager': { type: 'boolean', help: "use cert-manager's certificate instead of managing one" },
  'health-port': { type: 'string', arg: 'N', default: '8080', help: '/healthz, /readyz and /metrics' },
  concurrency: { type: 'string', arg: 'N', default: '4', help: 'reconciles in flight per controller' },
  'resync-seconds': {
    type: 'string',
    arg: 'N',
    default: '0',
    help: 'seconds between periodic full resyncs (0: off)',
  },
  'shutdown-delay-seconds': {
    type: 'string',
    arg: 'N',
    default: '5',
    help: 'on SIGTERM, keep serving (the webhook above all) this long before stopping, while the pod leaves its Service',
  },
  'no-dns': { type: 'boolean', help: 'do not maintain CoreDNS entries' },
  'allowed-dns-suffixes': {
    type: 'string',
    arg: 'LIST',
    help: "comma-separated DNS suffixes Spaces' dnsDomain and Apps' custom domains may use (default: none; only each Space's own domain)",
  },
  'cluster-cidrs': {
    type: 'string',
    arg: 'LIST',
    help: 'comma-separated cluster ranges no Peering may cover, beyond what the API shows (ServiceCIDRs, node pod CIDRs and addresses)',
  },
  'pod-security': {
    type: 'string',
    arg: 'LEVEL',
    default: 'baseline',
    help: 'Pod Security level enforced on Space namespaces: baseline or restricted',
  },
  'tls-issuer': {
    type: 'string',
    arg: 'ISSUER',
    default: 'operator',
    help: "who issues the Apps' certificates: operator (a CA per Space) or cert-manager:ClusterIssuer/<name> / cert-manager:Issuer/<name>",
  },
  help: { type: 'boolean', short: 'h', help: 'this help' },
} satisfies Record<string, Flag>;

type Name = keyof typeof FLAGS;

/** `--help`: every flag of the table, with its argument and default. */
export function helpText(): string {
  const lines = (Object.entries(FLAGS) as [Name, Flag][]).map(([name, f]) => {
    const left = `  --${name}${f.arg ? ` ${f.arg}` : ''}`.padEnd(32);
    return `${left}${f.help}${f.default === undefined ? '' : ` (default ${f.default})`}`;
  });
  return ['spaces-operator: reconciles privatespaces.dev Spaces, Apps and Peerings.', '', ...lines].join(
    '\n',
  );
}

/** A whole number in [min, max], or a message naming the flag. */
export function intFlag(name: string, value: string, min: number, max: number): number | string {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  return `--${name}: "${value}" is not a whole number from ${min} to ${max}`;
}

export type ParsedFlags =
  | { help: string }
  | { error: string }
  | {
      options: OperatorOptions;
      /** main.ts: how long SIGTERM waits before stop(). */ shutdownDelayMs: number;
    };

type Values = { [K in Name]?: (typeof FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

function podSecurity(v: string | undefined): { level: PodSecurityLevel } | { error: string } {
  if (v === 'baseline' || v === 'restricted') return { level: v };
  return { error: `--pod-security: "${v}" is not baseline or restricted` };
}

function tlsIssuer(v: string | undefined): { issuer: CertManagerIssuer | undefined } | { error: string } {
  try {
    return { issuer: parseTlsIssuer(v) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The numeric flags, checked; the first bad one as a message. */
function numbers(
  v: Values,
): { error: string } | Record<'webhook' | 'health' | 'concurrency' | 'resync' | 'shutdownDelay', number> {
  const checked = {
    webhook: intFlag('webhook-port', v['webhook-port'] ?? '', 0, 65535),
    health: intFlag('health-port', v['health-port'] ?? '', 0, 65535),
    concurrency: intFlag('concurrency', v.concurrency ?? '', 1, 1000),
    resync: intFlag('resync-seconds', v['resync-seconds'] ?? '', 0, 31_536_000),
    shutdownDelay: intFlag('shutdown-delay-seconds', v['shutdown-delay-seconds'] ?? '', 0, 300),
  };
  const error = Object.values(checked).find((x) => typeof x === 'string');
  return error === undefined ? (checked as Record<keyof typeof checked, number>) : { error };
}

function webhookOptions(v: Values, port: number): OperatorOptions['webhook'] {
  if (v['no-webhook']) return false;
  return { port, url: v['webhook-url'], host: v['webhook-host'], certManager: v['cert-manager'] ?? false };
}

/** Parses the operator's argv (without node and the script); `env` gives POD_NAMESPACE and POD_NAME. */
export function parseFlags(argv: string[], env: Record<string, string | undefined> = {}): ParsedFlags {
  let values: Values;
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true }).values;
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (values.help) return { help: helpText() };
  const n = numbers(values);
  if ('error' in n) return n;
  const security = podSecurity(values['pod-security']);
  if ('error' in security) return security;
  const issuer = tlsIssuer(values['tls-issuer']);
  if ('error' in issuer) return issuer;
  return {
    options: {
      kubeconfigPath: values.kubeconfig,
      namespace: values.namespace ?? env['POD_NAMESPACE'] ?? 'spaces-system',
      identity: env['POD_NAME'],
      leaderElection: values['leader-elect'] ?? false,
      webhook: webhookOptions(values, n.webhook),
      healthPort: n.health,
      concurrency: n.concurrency,
      resyncMs: n.resync * 1000,
      dns: !values['no-dns'],
      settings: {
        allowedDnsSuffixes: listFlag(values['allowed-dns-suffixes']),
        clusterCidrs: listFlag(values['cluster-cidrs']),
        podSecurity: security.level,
      },
      tls: { issuer: issuer.issuer },
    },
    shutdownDelayMs: n.shutdownDelay * 1000,
  };
}
