// What a reach means for a Space: which rules let in sources beyond the Space's own namespace and the
// allowed CIDRs (`widening`), and the reach as the App status shows it (`summarize`).
import { uncovered } from '../model/cidr.ts';
import { asReachInput } from './errors.ts';
import { formatPorts } from './ports.ts';
import { formatSelector, pinnedNamespaces } from './selector.ts';
import {
  NAMESPACE_NAME_LABEL,
  NOT_ISOLATED,
  type Reachability,
  type ReachRule,
  type Source,
} from './types.ts';

/**
 * What a pod may admit: every pod of the Space's namespace, and addresses inside `cidrs` (for an internal
 * app the active peerings' CIDRs; for an external app the Space's trusted IP ranges).
 */
export type Allowed = { spaceNamespace: string; cidrs: readonly string[] };

/** One rule that admits more than allowed; `reason` says which part of the policy and why. */
export type Widening = { policy: string; field: string; source: Source; reason: string };

/**
 * Every rule of `reach` admitting a source beyond `allowed`. Ports do not matter (a widening on one port
 * is a widening), except that a rule whose ports resolved to nothing admits nothing.
 *
 * - `any` widens (including a pod no policy isolates).
 * - A namespace, or pods of a namespace, other than the Space's widens; pods of the Space's namespace never do.
 * - A raw namespaceSelector widens unless it pins `kubernetes.io/metadata.name` (set by the apiserver,
 *   unforgeable) to the Space's namespace alone, so no relabelled or future namespace can match it.
 * - An ipBlock widens when some address of `cidr` minus `except` lies outside every allowed CIDR. This is
 *   exact set arithmetic: `0.0.0.0/0` with everything but an allowed range excepted does not widen.
 */
export function widening(input: { reach: Reachability; allowed: Allowed }): Widening[] {
  return input.reach.rules.flatMap((rule) => {
    const reason = widens(rule, input.allowed);
    if (reason === undefined) return [];
    // A rule whose named ports match no container port admits nothing by the specification, but
    // some network plugins (kube-router v2.1.0) then admit every port: judged as the plugin acts.
    const unresolved = rule.ports !== 'all' && rule.ports.length === 0;
    const why = unresolved
      ? `${reason} (its named ports match no port of the pod, which some network plugins read as every port)`
      : reason;
    return [{ policy: rule.policy, field: rule.field, source: rule.source, reason: why }];
  });
}

/** Why the rule widens, or undefined when it does not. */
function widens(rule: ReachRule, allowed: Allowed): string | undefined {
  const { source, field } = rule;
  const space = allowed.spaceNamespace;
  switch (source.kind) {
    case 'any':
      return anyReason(rule);
    case 'namespace':
      return source.name === space
        ? undefined
        : `${field}.namespaceSelector matches namespace "${source.name}"`;
    case 'pods':
      return source.namespace === space
        ? undefined
        : `${field} selects pods of namespace "${source.namespace}"`;
    case 'namespaceSelector':
      return pinnedToSpace(source.selector, space)
        ? undefined
        : `${field}.namespaceSelector "${formatSelector(source.selector)}" can match namespaces other than ` +
            `"${space}" (only ${NAMESPACE_NAME_LABEL}=${space} cannot)`;
    case 'cidr':
      return cidrReason(source, field, allowed.cidrs);
  }
}

function anyReason(rule: ReachRule): string {
  if (rule.policy === NOT_ISOLATED) return 'no NetworkPolicy with policyType Ingress selects the pod';
  return rule.field.endsWith('.from') ? `${rule.field} is empty` : `${rule.field} selects every source`;
}

function pinnedToSpace(selector: Parameters<typeof pinnedNamespaces>[0], space: string): boolean {
  const pinned = pinnedNamespaces(selector);
  return pinned !== undefined && pinned.every((n) => n === space);
}

function cidrReason(
  source: { cidr: string; except: string[] },
  field: string,
  allowed: readonly string[],
): string | undefined {
  const outside = asReachInput(() => uncovered(source.cidr, source.except, allowed));
  if (outside.length === 0) return undefined;
  const shown = outside.slice(0, 3).join(', ') + (outside.length > 3 ? `, … (${outside.length} ranges)` : '');
  const within = allowed.length === 0 ? 'no CIDR is allowed' : `allowed: ${allowed.join(', ')}`;
  return `${field}.ipBlock admits ${shown} outside the allowed ranges (${within})`;
}

/** A source in words, for messages: `any source`, `namespace "x"`, `addresses in 10.0.0.0/8`. */
export function describeSource(source: Source): string {
  switch (source.kind) {
    case 'any':
      return 'any source';
    case 'namespace':
      return `every pod of namespace "${source.name}"`;
    case 'pods':
      return `pods "${formatSelector(source.selector)}" of namespace "${source.namespace}"`;
    case 'namespaceSelector':
      return source.podSelector
        ? `pods "${formatSelector(source.podSelector)}" of namespaces "${formatSelector(source.selector)}"`
        : `every pod of namespaces "${formatSelector(source.selector)}"`;
    case 'cidr':
      return source.except.length === 0
        ? `addresses in ${source.cidr}`
        : `addresses in ${source.cidr} except ${source.except.join(', ')}`;
  }
}

/** One entry of `App.status.reachableFrom`. `ports` is absent when every port is admitted. */
export type ReachableFrom = { source: string; kind: Source['kind']; ports?: string; policy: string };

/**
 * The reach as short strings: `any`, `namespace/acme`, `pods/acme/app=web`,
 * `namespaceSelector/team=a` (or `namespaceSelector/team=a/pods/app=web`), `cidr/10.0.0.0/8` (or
 * `cidr/0.0.0.0/0 except 10.0.0.0/8`). Rules that admit no port are left out; duplicates collapse.
 */
export function summarize(reach: Reachability): ReachableFrom[] {
  const seen = new Set<string>();
  const out: ReachableFrom[] = [];
  for (const rule of reach.rules) {
    if (rule.ports !== 'all' && rule.ports.length === 0) continue;
    const entry: ReachableFrom = {
      source: sourceText(rule.source),
      kind: rule.source.kind,
      policy: rule.policy,
    };
    if (rule.ports !== 'all') entry.ports = formatPorts(rule.ports);
    const key = JSON.stringify(entry);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  return out;
}

export function sourceText(source: Source): string {
  switch (source.kind) {
    case 'any':
      return 'any';
    case 'namespace':
      return `namespace/${source.name}`;
    case 'pods':
      return `pods/${source.namespace}/${formatSelector(source.selector)}`;
    case 'namespaceSelector': {
      const ns = `namespaceSelector/${formatSelector(source.selector)}`;
      return source.podSelector ? `${ns}/pods/${formatSelector(source.podSelector)}` : ns;
    }
    case 'cidr':
      return source.except.length === 0
        ? `cidr/${source.cidr}`
        : `cidr/${source.cidr} except ${source.except.join(',')}`;
  }
}
