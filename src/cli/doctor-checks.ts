// The rules of `kubectl spaces doctor`: what is wrong with an App, one Problem each (what and
// what to do), from what the fetch part read (DoctorInput) and the facts derived from it. Pure.
import type { V1NetworkPolicy, V1Pod } from '@kubernetes/client-node';
import type { App, Peering, Space } from '../api/v1alpha1/index.ts';
import {
  appPolicyName,
  appPort,
  appService,
  appServiceName,
  DEFAULT_DENY_POLICY,
  DEFAULT_SETTINGS,
  isInternal,
  validateStoredApp,
  platformSettings,
} from '../model/index.ts';
import { hostNetworkReach, hostNetworkText, type NamespaceInfo } from '../reach/index.ts';
import type { Obj } from './kube.ts';
import { allowedText, wideningFix, wideningText, type ReachView } from './reach.ts';

export const DNS_CONFIGMAP = { namespace: 'kube-system', name: 'coredns-custom' } as const;
export interface DoctorInput {
  app: App;
  space?: Space;
  peerings: readonly Peering[];
  policies: readonly V1NetworkPolicy[];
  namespaces: readonly NamespaceInfo[];
  /** Live pods matching the App's selector, as the API returns them. */
  pods: readonly Obj[];
  /** Every pod of the namespace (process counts); absent: only the web pods above are counted. */
  allPods?: readonly Obj[];
  service?: Obj;
  endpointSlices: readonly Obj[];
  events: readonly Obj[];
  /** The CoreDNS ConfigMap, or why it could not be read (undefined: it does not exist). */
  dns: { configMap?: Obj; error?: string };
  /**
   * The cluster's hostNetwork pods (read for an internal App), or why they could not be read; absent:
   * not checked.
   */
  hostNetwork?: { pods?: readonly V1Pod[]; error?: string };
  now: Date;
}

/** Namespaces whose hostNetwork pods are the platform's own: kube-system and the operator's. */
const HOST_NETWORK_EXEMPT: readonly string[] = ['kube-system', DEFAULT_SETTINGS.operatorNamespace];

export interface Problem {
  what: string;
  fix: string;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface DnsName {
  name: string;
  published: boolean;
  address?: string;
}

export interface DoctorReport {
  app: string;
  namespace: string;
  space: string;
  routing: 'internal' | 'external';
  generation?: number;
  observedGeneration?: number;
  conditions: Condition[];
  events: { age: string; type: string; reason: string; note: string }[];
  service?: { name: string; type: string; clusterIP: string; ports: string };
  selector: string;
  pods: { total: number; ready: number };
  /** Per process `web=2/3` (ready/live), and the discovery names while DNS discovery is on. */
  processes: string[];
  discovery: string[];
  endpoints: { ready: number; total: number; slices: string[] };
  dns: { source: string; checked: boolean; names: DnsName[] };
  policies: string[];
  reach?: ReachView;
  /** The App's certificate and its expiry (src/tls/report.ts). */
  certificate?: string;
  problems: Problem[];
}

/** Everything the report shows besides the problems. */
export type DoctorFacts = Omit<DoctorReport, 'problems'>;

function specProblems(input: DoctorInput): Problem[] {
  const { app, space } = input;
  const ns = app.metadata.namespace ?? '';
  if (!space) {
    return [
      {
        what: `namespace ${ns} belongs to no Space, so the operator ignores App ${app.metadata.name}`,
        fix: "create the App in its Space's namespace (kubectl get spaces)",
      },
    ];
  }
  // Custom domains are the cluster's webhook's to judge (its allowed suffixes are a flag we cannot see).
  // Judged as an update that keeps the stored spec, as the webhook judges the App's next edit.
  return validateStoredApp(app, space, platformSettings({ allowedDnsSuffixes: app.spec.domains ?? [] })).map(
    (e) => ({
      what: `the webhook would refuse the App: ${e.field}: ${e.message}`,
      fix: `edit it: kubectl -n ${ns} edit app ${app.metadata.name}`,
    }),
  );
}

const OPERATOR_FIX =
  'check the operator is running (kubectl get pods -A -l app.kubernetes.io/name=spaces-operator) and read its logs';

function statusProblems(app: App): Problem[] {
  const conds = (app.status?.conditions ?? []) as Condition[];
  if (conds.length === 0)
    return [
      { what: 'the operator has not reported on this App yet (no status conditions)', fix: OPERATOR_FIX },
    ];
  return [generationProblem(app), readyProblem(conds), stalledProblem(conds)].filter(
    (p): p is Problem => p !== undefined,
  );
}

function generationProblem(app: App): Problem | undefined {
  const generation = app.metadata.generation;
  const observed = app.status?.observedGeneration;
  if (generation === undefined || (observed ?? 0) >= generation) return undefined;
  return {
    what: `generation ${generation} is not reconciled yet (observed ${observed ?? 'none'})`,
    fix: `wait a few seconds; if it stays, ${OPERATOR_FIX}`,
  };
}

/** `<label> (<reason>): <message>` of a condition, without a trailing space. */
function conditionText(label: string, c: Condition): string {
  return `${label} (${c.reason ?? 'no reason'}): ${c.message ?? ''}`.trimEnd();
}

function readyProblem(conds: readonly Condition[]): Problem | undefined {
  const ready = conds.find((c) => c.type === 'Ready');
  if (!ready || ready.status === 'True') return undefined;
  return {
    what: conditionText(`Ready is ${ready.status}`, ready),
    fix: 'see the other problems and the events listed above',
  };
}

function stalledProblem(conds: readonly Condition[]): Problem | undefined {
  const stalled = conds.find((c) => c.type === 'Stalled' && c.status === 'True');
  if (!stalled) return undefined;
  return {
    what: conditionText('Stalled', stalled),
    fix: 'the operator will not retry until the App or its Space changes: fix the cause named here',
  };
}

function childProblems(input: DoctorInput, svc: DoctorReport['service']): Problem[] {
  const { app, space } = input;
  if (!space) return [];
  const ns = app.metadata.namespace ?? '';
  const out: Problem[] = [];
  const wanted = appService(app, space).spec.type;
  if (!svc)
    out.push({
      what: `Service ${ns}/${appServiceName(app)} is missing`,
      fix: `the operator creates it: see the events above, and ${OPERATOR_FIX}`,
    });
  else if (svc.type !== wanted) {
    out.push({
      what: `Service ${ns}/${svc.name} is type ${svc.type}, the operator wants ${wanted ?? 'ClusterIP'}`,
      fix: 'something else changed it: find who (kubectl get service -o yaml, managedFields) and stop it; the operator re-applies its own',
    });
  }
  const names = input.policies.map((p) => p.metadata?.name);
  for (const policy of [appPolicyName(app), DEFAULT_DENY_POLICY]) {
    if (!names.includes(policy))
      out.push({
        what: `NetworkPolicy ${ns}/${policy} is missing`,
        fix: `the operator creates it: ${OPERATOR_FIX}`,
      });
  }
  return out;
}

function containerPorts(pods: readonly Obj[]): number[] {
  return pods.flatMap((p) => {
    const spec = p['spec'] as { containers?: { ports?: { containerPort: number }[] }[] } | undefined;
    return (spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((x) => x.containerPort));
  });
}

function endpointProblems(
  input: DoctorInput,
  facts: Pick<DoctorReport, 'pods' | 'endpoints' | 'selector' | 'namespace'>,
): Problem[] {
  const { pods, endpoints, selector, namespace } = facts;
  const port = appPort(input.app);
  const out: Problem[] = [];
  const declared = containerPorts(input.pods);
  if (declared.length > 0 && !declared.includes(port)) {
    out.push({
      what: `the web pods declare container ports ${[...new Set(declared)].join(',')} but the App's port is ${port}`,
      fix: `make the web process listen on ${port} ($PORT), or set spec.port`,
    });
  }
  if (endpoints.ready > 0) return out;
  const detail = `${pods.total} pod(s) labelled ${selector}, ${pods.ready} Ready`;
  const fix =
    pods.total === 0
      ? `run the web process with the label(s) ${selector} (kubectl -n ${namespace} get pods -l ${selector})`
      : `find why they are not Ready: kubectl -n ${namespace} describe pods -l ${selector}`;
  out.push({
    what: `the web process has no ready endpoint (${detail}), so nothing answers and its names do not resolve`,
    fix,
  });
  return out;
}

function dnsProblems(report: Pick<DoctorReport, 'dns' | 'endpoints' | 'service'>): Problem[] {
  if (!report.dns.checked) return [];
  const ip = report.service?.clusterIP;
  const ready = report.endpoints.ready > 0;
  const where = `${DNS_CONFIGMAP.namespace}/${DNS_CONFIGMAP.name}`;
  return report.dns.names.flatMap((n): Problem[] => {
    if (ready && !n.published) {
      return [
        {
          what: `${n.name} is not in ${where} although the web process is ready`,
          fix: "the operator's DNS controller publishes it within seconds; if it stays, another App may hold the name (see the events) or the operator runs with --no-dns",
        },
      ];
    }
    if (!ready && n.published) {
      return [
        {
          what: `${n.name} is still in ${where} although no endpoint is ready`,
          fix: 'it should be withdrawn within seconds; if it stays, check the operator',
        },
      ];
    }
    // Discovery names (app.localspace) answer with the pods themselves, not the ClusterIP.
    if (n.published && ip && n.address !== ip && !n.name.endsWith('.app.localspace')) {
      return [
        {
          what: `${n.name} points at ${n.address ?? '?'} but the Service's ClusterIP is ${ip}`,
          fix: 'the DNS entry is stale; if it stays, check the operator',
        },
      ];
    }
    return [];
  });
}

function exposureProblems(reach: ReachView | undefined): Problem[] {
  if (!reach) return [];
  return reach.widenings.map((w) => ({
    what: `reachable from beyond ${allowedText(reach)}: ${wideningText(w)}`,
    fix: `${wideningFix({ namespace: reach.namespace, widenings: [w] })} (details: kubectl spaces reach ${reach.app} -n ${reach.namespace})`,
  }));
}

/**
 * An internal App and hostNetwork pods outside kube-system and the operator's namespace: NetworkPolicy
 * never restricts traffic from a node or a pod on its network, so each of them reaches the app.
 */
function hostNetworkProblems(input: DoctorInput): Problem[] {
  if (!isInternal(input.app) || !input.hostNetwork) return [];
  if (input.hostNetwork.error)
    return [
      {
        what: `hostNetwork pods were not checked (${input.hostNetwork.error}); any of them would reach this internal app regardless of NetworkPolicy`,
        fix: 'ask a platform admin to run: kubectl get pods -A --field-selector spec.hostNetwork=true',
      },
    ];
  const found = hostNetworkReach(input.hostNetwork.pods ?? [], HOST_NETWORK_EXEMPT);
  if (found.length === 0) return [];
  return [
    {
      what: hostNetworkText(found),
      fix:
        'remove hostNetwork from those pods (or run them in kube-system if they are platform components); ' +
        "until then every such pod, and every node, is inside this app's trust boundary",
    },
  ];
}

/** Every problem, in the order a user should fix them: spec, status, children, pods, DNS, exposure. */
export function problemsOf(input: DoctorInput, facts: DoctorFacts): Problem[] {
  return [
    ...specProblems(input),
    ...statusProblems(input.app),
    ...childProblems(input, facts.service),
    ...endpointProblems(input, facts),
    ...dnsProblems(facts),
    ...exposureProblems(facts.reach),
    ...hostNetworkProblems(input),
  ];
}
