// Label selector matching, exactly as metav1.LabelSelector defines it: `matchLabels` and every
// `matchExpressions` requirement must all hold (AND); an empty selector matches everything.
//
// Absent selectors: everywhere a NetworkPolicy consults a selector, an absent one means "no restriction":
// `spec.podSelector` is a value, not a pointer, in the Go type (absent = `{}` = every pod of the namespace),
// and a peer's `podSelector` absent beside a `namespaceSelector` means every pod of those namespaces. So
// `matchesSelector(undefined, …)` is true. (A peer's absent `namespaceSelector` means "the policy's own
// namespace", which is not a label match at all; the evaluator handles it.)
import type { V1LabelSelector } from '@kubernetes/client-node';
import { invalidSelectorOperator } from './errors.ts';
import { NAMESPACE_NAME_LABEL, type Labels } from './types.ts';

type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
/** One normalised requirement; `matchLabels: {k: v}` becomes `k In [v]`. */
export type Requirement = { key: string; operator: Operator; values: readonly string[] };

const OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);

/** The selector as a flat list of requirements (all must hold). Throws on an unknown operator. */
export function requirementsOf(selector: V1LabelSelector | null | undefined): Requirement[] {
  const fromLabels = Object.entries(selector?.matchLabels ?? {}).map(([key, value]): Requirement => ({
    key,
    operator: 'In',
    values: [value],
  }));
  const fromExpressions = (selector?.matchExpressions ?? []).map((e): Requirement => {
    if (!OPERATORS.has(e.operator)) throw invalidSelectorOperator(e.operator);
    return { key: e.key, operator: e.operator as Operator, values: e.values ?? [] };
  });
  return [...fromLabels, ...fromExpressions];
}

function holds(req: Requirement, value: string | undefined): boolean {
  switch (req.operator) {
    case 'In':
      return value !== undefined && req.values.includes(value);
    case 'NotIn':
      return value === undefined || !req.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

function valueOf(labels: Labels, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/**
 * matchLabels semantics, read in place (no entries list: every App reconcile matches each Service
 * of its namespace against its pods): every label of `selector` is on `labels`; an empty one matches.
 */
export function labelsMatch(selector: Labels, labels: Labels): boolean {
  for (const key in selector) if (valueOf(labels, key) !== selector[key]) return false;
  return true;
}

/** A Service's selector: like matchLabels, except that an empty or absent one selects no pod. */
export function serviceSelects(selector: Labels | undefined, labels: Labels): boolean {
  if (!selector) return false;
  for (const _ in selector) return labelsMatch(selector, labels);
  return false;
}

/** Whether `labels` match `selector`. Absent or empty selector: true (see the file comment). */
export function matchesSelector(selector: V1LabelSelector | null | undefined, labels: Labels): boolean {
  return matchesWith(selector, (key) => valueOf(labels, key));
}

/**
 * Whether a namespace matches a namespaceSelector: its labels plus the apiserver-set
 * `kubernetes.io/metadata.name` (as `matchesSelector(selector, namespaceLabels(ns))`, without
 * copying its labels: a policy's peer is matched against every namespace of the cluster).
 */
export function matchesNamespace(
  selector: V1LabelSelector | null | undefined,
  ns: { name: string; labels?: Labels },
): boolean {
  return matchesWith(selector, (key) =>
    key === NAMESPACE_NAME_LABEL ? ns.name : ns.labels ? valueOf(ns.labels, key) : undefined,
  );
}

// The requirements of `requirementsOf`, read in place (no list is built: selectors are matched
// once per policy and pod, and per namespace of the cluster). Every operator is checked first,
// so an unknown one throws whatever the labels, as `requirementsOf` does.
function matchesWith(
  selector: V1LabelSelector | null | undefined,
  get: (key: string) => string | undefined,
): boolean {
  if (!selector) return true;
  const expressions = selector.matchExpressions ?? [];
  for (const e of expressions) if (!OPERATORS.has(e.operator)) throw invalidSelectorOperator(e.operator);
  const labels = selector.matchLabels ?? {};
  if (!Object.keys(labels).every((key) => get(key) === labels[key])) return false;
  return expressions.every((e) =>
    holds({ key: e.key, operator: e.operator as Operator, values: e.values ?? [] }, get(e.key)),
  );
}

/** Whether the selector has no requirement at all, so it matches every label set. */
export function selectsAll(selector: V1LabelSelector | null | undefined): boolean {
  return requirementsOf(selector).length === 0;
}

/**
 * Whether some label set that contains `fixed` (and may add any other label) matches the selector: "could
 * this selector pick one of the pods whose labels include these?" Exact: requirements on keys of `fixed`
 * are evaluated; the others must be satisfiable together, key by key.
 */
export function couldSelect(selector: V1LabelSelector | null | undefined, fixed: Labels): boolean {
  // The common case (a Service's selector, most podSelectors): labels only, each one a single
  // value, which a free key can always take: only the keys of `fixed` decide. Built nothing.
  if (!selector?.matchExpressions?.length) return labelsCouldMatch(selector?.matchLabels ?? {}, fixed);
  const free = new Map<string, Requirement[]>();
  for (const r of requirementsOf(selector)) {
    if (Object.hasOwn(fixed, r.key)) {
      if (!holds(r, fixed[r.key])) return false;
    } else {
      free.set(r.key, [...(free.get(r.key) ?? []), r]);
    }
  }
  return [...free.values()].every(satisfiable);
}

function labelsCouldMatch(labels: Labels, fixed: Labels): boolean {
  for (const key in labels) if (Object.hasOwn(fixed, key) && fixed[key] !== labels[key]) return false;
  return true;
}

/** Whether one key's requirements can all hold at once (label values are an unbounded set). */
function satisfiable(reqs: readonly Requirement[]): boolean {
  const mustExist = reqs.some((r) => r.operator === 'In' || r.operator === 'Exists');
  const mustNotExist = reqs.some((r) => r.operator === 'DoesNotExist');
  if (mustNotExist) return !mustExist;
  const allowed = allowedValues(reqs);
  if (allowed === undefined) return true;
  const forbidden = new Set(reqs.filter((r) => r.operator === 'NotIn').flatMap((r) => r.values));
  return allowed.some((v) => !forbidden.has(v));
}

function allowedValues(reqs: readonly Requirement[]): string[] | undefined {
  let allowed: string[] | undefined;
  for (const r of reqs) {
    if (r.operator !== 'In') continue;
    allowed = allowed === undefined ? [...r.values] : allowed.filter((v) => r.values.includes(v));
  }
  return allowed;
}

/**
 * Whether every label set that contains `fixed` matches the selector: "does this selector pick all the
 * pods whose labels include these, whatever else they carry?" True only if every requirement is about a
 * key of `fixed` and holds there.
 */
export function surelySelects(selector: V1LabelSelector | null | undefined, fixed: Labels): boolean {
  return requirementsOf(selector).every((r) => Object.hasOwn(fixed, r.key) && holds(r, fixed[r.key]));
}

/**
 * The values `key` is confined to by the selector (intersection of its `matchLabels` entry and `In`
 * requirements), or undefined when the selector does not confine it. `[]` means it matches nothing.
 */
export function pinnedValues(
  selector: V1LabelSelector | null | undefined,
  key: string,
): string[] | undefined {
  const reqs = requirementsOf(selector).filter((r) => r.key === key);
  const allowed = allowedValues(reqs);
  if (allowed === undefined) return undefined;
  const forbidden = new Set(reqs.filter((r) => r.operator === 'NotIn').flatMap((r) => r.values));
  const mustNotExist = reqs.some((r) => r.operator === 'DoesNotExist');
  return mustNotExist ? [] : [...new Set(allowed.filter((v) => !forbidden.has(v)))];
}

/**
 * The namespace names a namespaceSelector is confined to through `kubernetes.io/metadata.name`, or
 * undefined when it can match namespaces of any name.
 */
export function pinnedNamespaces(selector: V1LabelSelector | null | undefined): string[] | undefined {
  return pinnedValues(selector, NAMESPACE_NAME_LABEL);
}

/** A namespace's labels with the apiserver-set `kubernetes.io/metadata.name` (the caller may omit it). */
export function namespaceLabels(ns: { name: string; labels?: Labels }): Labels {
  return { ...ns.labels, [NAMESPACE_NAME_LABEL]: ns.name };
}

/** kubectl-style text: `app=web,tier in (a,b),!legacy,team`; an empty selector is `<all>`. */
export function formatSelector(selector: V1LabelSelector | null | undefined): string {
  const parts = requirementsOf(selector).map(formatRequirement);
  return parts.length === 0 ? '<all>' : parts.join(',');
}

function formatRequirement(r: Requirement): string {
  switch (r.operator) {
    case 'In':
      return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return `${r.key} notin (${r.values.join(',')})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
  }
}
