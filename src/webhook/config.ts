// The ValidatingWebhookConfiguration `spaces-operator`, as data. Used by the operator (register
// mode, local runs), by `deploy/` generation and by the tests. Fail closed: failurePolicy Fail.
//
// Four webhooks, each as narrow as its purpose allows, so an outage of the operator blocks as
// little as possible while everything that matters stays refused:
// - resources.privatespaces.dev: Space, App, Peering (CREATE, UPDATE), everywhere.
// - exposure.privatespaces.dev: Services (NodePort/LoadBalancer/ExternalName/externalIPs) and
//   Gateway API routes in every namespace, since an ExternalName or a route may point across
//   namespaces into a Space.
// - workloads.privatespaces.dev: Pods, workloads, NetworkPolicies and Ingresses only in Space
//   namespaces (label privatespaces.dev/space), the only place they can reach an internal app's
//   pods (a NetworkPolicy or an Ingress acts within its own namespace).
// - namespaces.privatespaces.dev: Namespaces (labels decide which policies admit a namespace).
// - owned.privatespaces.dev: the ownership lock (handlers/owned.ts). Services, NetworkPolicies,
//   Namespaces, Secrets and ConfigMaps labelled app.kubernetes.io/managed-by=spaces-operator
//   (objectSelector: for an UPDATE it matches when the old OR the new object carries the label,
//   so stripping the label is seen too), on UPDATE and DELETE, and CREATE of a Service or
//   NetworkPolicy carrying the label (spoofing). Only labelled Secrets and ConfigMaps are sent, so
//   an outage of the webhook never blocks an ordinary Secret or ConfigMap. It also skips the garbage collector, which deletes and un-owns our children when
//   their owner goes, and the namespace controller deleting.
// - cidrs.privatespaces.dev: canonical CIDRs in NetworkPolicies (CREATE, UPDATE) that have an
//   ipBlock, in every namespace that is not a Space namespace (workloads.privatespaces.dev sends
//   those already): one non-canonical CIDR anywhere wedges kube-router for the whole node.
// Every one but cidrs skips kube-system, kube-public, kube-node-lease and the operator's
// namespace; all skip (matchConditions, CEL) the operator's own service account, which must be
// able to do its work while its webhook is down and only ever writes what the model renders.
//
// cidrs.privatespaces.dev skips only the operator's namespace (and the configured extra ones),
// NOT kube-system: a bad ipBlock written there by an add-on or an admin wedges the node exactly
// like one in a tenant's namespace, and only NetworkPolicies with an ipBlock are sent, so an
// outage of the webhook blocks nothing the control plane needs to start (no Pods, Leases,
// Endpoints or ConfigMaps), only such policies, until the operator is back.
//
// Deliberately NOT skipped: kube-system controllers (replicaset, job, daemonset, statefulset
// controllers) creating Pods. A template admitted before an internal App existed may match that
// App now; its Pods are refused and the controller retries with backoff (FailedCreate events).
// The garbage collector and the namespace controller only patch metadata (UPDATE, which a guard
// allows when it does not introduce a violation), delete (not intercepted, except NetworkPolicies,
// whose deletion by the namespace controller a matchCondition skips) or use the
// namespaces/finalize subresource (not intercepted), so they are never blocked by a verdict.
import type {
  V1MatchCondition,
  V1RuleWithOperations,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { MANAGED_BY, MANAGED_BY_LABEL, SPACE_LABEL } from '../model/labels.ts';
import { CONTROLLER_MANAGER, GARBAGE_COLLECTOR } from './handlers/owned.ts';
import { VALIDATE_PATH } from './server.ts';

export const WEBHOOK_CONFIGURATION_NAME = 'spaces-operator';
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

export interface WebhookConfigOptions {
  /** The operator's namespace (skipped by every webhook). */
  namespace: string;
  /** Default `spaces-operator`. */
  name?: string;
  /** In-cluster: the webhook Service (name, port). Ignored when `url` is set. */
  serviceName?: string;
  servicePort?: number;
  /** Local runs: `https://127.0.0.1:<port>/validate`. */
  url?: string;
  /** PEM CA bundle; omitted when cert-manager's cainjector fills it. */
  caBundle?: string;
  /** The operator's service account (name in `namespace`). Default `spaces-operator`. */
  serviceAccount?: string;
  /** The operator's user name, when it is not that service account (local runs with an admin kubeconfig). */
  operatorUsername?: string;
  /** cert-manager mode: `<namespace>/<Certificate>` for the `cert-manager.io/inject-ca-from` annotation. */
  certManagerCertificate?: string;
  /** More namespaces to skip. */
  excludeNamespaces?: string[];
  timeoutSeconds?: number;
}

const CREATE_UPDATE = ['CREATE', 'UPDATE'];

function rule(group: string, resources: string[], operations = CREATE_UPDATE): V1RuleWithOperations {
  return { apiGroups: [group], apiVersions: ['*'], resources, operations, scope: '*' };
}

export const RULES = {
  resources: [rule('privatespaces.dev', ['spaces', 'apps', 'peerings'])],
  exposure: [
    rule('', ['services']),
    rule('gateway.networking.k8s.io', ['httproutes', 'grpcroutes', 'tcproutes', 'tlsroutes']),
  ],
  workloads: [
    rule('', ['pods', 'replicationcontrollers']),
    rule('apps', ['deployments', 'statefulsets', 'daemonsets', 'replicasets']),
    rule('batch', ['jobs', 'cronjobs']),
    rule('networking.k8s.io', ['ingresses']),
    // DELETE too: removing the last policy that isolates an app's pods opens them to everyone.
    rule('networking.k8s.io', ['networkpolicies'], ['CREATE', 'UPDATE', 'DELETE']),
  ],
  namespaces: [rule('', ['namespaces'])],
  owned: [
    rule('', ['services'], ['CREATE', 'UPDATE', 'DELETE']),
    rule('networking.k8s.io', ['networkpolicies'], ['CREATE', 'UPDATE', 'DELETE']),
    rule('', ['namespaces'], ['UPDATE', 'DELETE']),
    // Private TLS: an App's Secret, a Space's CA bundle (only those labelled: objectSelector).
    rule('', ['secrets', 'configmaps'], ['UPDATE', 'DELETE']),
  ],
  cidrs: [rule('networking.k8s.io', ['networkpolicies'])],
} satisfies Record<string, V1RuleWithOperations[]>;

/** CEL: every webhook skips the operator's own service account. */
export function operatorMatchConditions(user: string): V1MatchCondition[] {
  return [{ name: 'not-the-operator', expression: `request.userInfo.username != '${user}'` }];
}

/**
 * CEL: a ClusterIP Service without externalIPs can expose nothing, so the exposure webhook does
 * not even see it; a webhook outage then blocks only Services that would need a verdict.
 */
export const EXPOSING_SERVICES_ONLY: V1MatchCondition = {
  name: 'exposing-services-only',
  expression:
    "request.resource.resource != 'services' || " +
    "(has(object.spec.type) && object.spec.type != 'ClusterIP') || " +
    '(has(object.spec.externalIPs) && size(object.spec.externalIPs) > 0)',
};

/**
 * CEL: the namespace controller empties a terminating namespace; its deletions (the only DELETEs
 * intercepted are NetworkPolicies) can never widen anything, so a webhook outage must not leave a
 * Space's namespace stuck in Terminating.
 */
export const NOT_NAMESPACE_CLEANUP: V1MatchCondition = {
  name: 'not-namespace-cleanup',
  expression:
    "request.operation != 'DELETE' || " +
    "request.userInfo.username != 'system:serviceaccount:kube-system:namespace-controller'",
};

/** CEL: the garbage collector deletes our children and strips owner references; never blocked. */
export const NOT_GARBAGE_COLLECTOR: V1MatchCondition = {
  name: 'not-the-garbage-collector',
  expression:
    `request.userInfo.username != '${GARBAGE_COLLECTOR}' && ` +
    `request.userInfo.username != '${CONTROLLER_MANAGER}'`,
};

const hasIpBlock = (rules: string, peers: string): string =>
  `(has(object.spec.${rules}) && object.spec.${rules}.exists(r, has(r.${peers}) && r.${peers}.exists(p, has(p.ipBlock))))`;

/** CEL: only a NetworkPolicy with an ipBlock can hold a non-canonical CIDR. */
export const WITH_IP_BLOCKS: V1MatchCondition = {
  name: 'with-ip-blocks',
  expression: `${hasIpBlock('ingress', 'from')} || ${hasIpBlock('egress', 'to')}`,
};

/** The ownership lock only sees objects carrying the operator's managed-by label. */
export const MANAGED_OBJECTS = { matchLabels: { [MANAGED_BY_LABEL]: MANAGED_BY } };

export function webhookClientConfig(o: WebhookConfigOptions): V1ValidatingWebhook['clientConfig'] {
  const caBundle = o.caBundle ? { caBundle: Buffer.from(o.caBundle, 'utf8').toString('base64') } : {};
  if (o.url) return { url: o.url, ...caBundle };
  return {
    service: {
      name: o.serviceName ?? WEBHOOK_CONFIGURATION_NAME,
      namespace: o.namespace,
      path: VALIDATE_PATH,
      port: o.servicePort ?? 443,
    },
    ...caBundle,
  };
}

function commonFields(o: WebhookConfigOptions): Omit<V1ValidatingWebhook, 'name'> & {
  matchConditions: V1MatchCondition[];
} {
  return {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    timeoutSeconds: o.timeoutSeconds ?? 5,
    clientConfig: webhookClientConfig(o),
    objectSelector: {},
    matchConditions: operatorMatchConditions(
      o.operatorUsername ??
        `system:serviceaccount:${o.namespace}:${o.serviceAccount ?? WEBHOOK_CONFIGURATION_NAME}`,
    ),
  };
}

/** The six webhooks, in the order of the header. */
function webhooks(o: WebhookConfigOptions): V1ValidatingWebhook[] {
  const skipped = [...new Set([...SYSTEM_NAMESPACES, o.namespace, ...(o.excludeNamespaces ?? [])])];
  const notSystem = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: skipped };
  const common = commonFields(o);
  const inSpaces = { key: SPACE_LABEL, operator: 'Exists' };
  const hook = (name: string, rules: V1RuleWithOperations[], spacesOnly = false): V1ValidatingWebhook => ({
    name: `${name}.privatespaces.dev`,
    rules,
    namespaceSelector: { matchExpressions: spacesOnly ? [notSystem, inSpaces] : [notSystem] },
    ...common,
  });
  const exposure = hook('exposure', RULES.exposure);
  exposure.matchConditions = [...common.matchConditions, EXPOSING_SERVICES_ONLY];
  const workloads = hook('workloads', RULES.workloads, true);
  workloads.matchConditions = [...common.matchConditions, NOT_NAMESPACE_CLEANUP];
  const owned = hook('owned', RULES.owned);
  owned.objectSelector = MANAGED_OBJECTS;
  owned.matchConditions = [...common.matchConditions, NOT_GARBAGE_COLLECTOR, NOT_NAMESPACE_CLEANUP];
  const operatorOnly = [...new Set([o.namespace, ...(o.excludeNamespaces ?? [])])];
  const cidrs: V1ValidatingWebhook = {
    ...hook('cidrs', RULES.cidrs),
    namespaceSelector: {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: operatorOnly },
        { key: SPACE_LABEL, operator: 'DoesNotExist' },
      ],
    },
    matchConditions: [...common.matchConditions, WITH_IP_BLOCKS],
  };
  return [
    hook('resources', RULES.resources),
    exposure,
    workloads,
    hook('namespaces', RULES.namespaces),
    owned,
    cidrs,
  ];
}

export function buildWebhookConfiguration(o: WebhookConfigOptions): V1ValidatingWebhookConfiguration {
  const annotations = o.certManagerCertificate
    ? { 'cert-manager.io/inject-ca-from': o.certManagerCertificate }
    : undefined;
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: o.name ?? WEBHOOK_CONFIGURATION_NAME,
      labels: { 'app.kubernetes.io/managed-by': 'spaces-operator' },
      ...(annotations ? { annotations } : {}),
    },
    webhooks: webhooks(o),
  };
}
