// The reachability module: who can open connections to a pod, per the NetworkPolicy specification, and
// the admission guards built on it. Pure: no I/O. See README.md.
export * from './types.ts';
export { InvalidReachInputError } from './errors.ts';
export {
  matchesSelector,
  matchesNamespace,
  couldSelect,
  surelySelects,
  selectsAll,
  pinnedValues,
  pinnedNamespaces,
  namespaceLabels,
  formatSelector,
  requirementsOf,
  type Requirement,
} from './selector.ts';
export { resolvePorts, portsAdmit, formatPorts, DEFAULT_PROTOCOL } from './ports.ts';
export {
  evaluateIngress,
  policyIngressRules,
  peerSources,
  policyTypes,
  affectsIngress,
  policyName,
  admits,
  type PodInfo,
  type IngressInput,
  type RuleContext,
  type ConnectionQuery,
} from './evaluator.ts';
export {
  widening,
  summarize,
  describeSource,
  sourceText,
  type Allowed,
  type Widening,
  type ReachableFrom,
} from './exposure.ts';
export { podSpecOf, podSpecField, type PodTemplate, type WorkloadObject } from './podspec.ts';
export {
  guardNetworkPolicy,
  guardNetworkPolicyRemoval,
  guardPodSpec,
  guardNamespaceLabels,
  SPACE_LABEL,
  type GuardDecision,
  type GuardContext,
  type RemovalContext,
  type SpaceRef,
  type InternalAppRef,
  type ExternalAppRef,
} from './guards.ts';
export {
  liveExposure,
  livePodOf,
  selectedPods,
  standInPod,
  outsideReason,
  ingressBackends,
  bypassesOf,
  hostNetworkReach,
  hostNetworkText,
  selectorConflicts,
  selectorsOverlap,
  type LivePod,
  type Bypass,
  type LiveExposureInput,
  type LiveExposure,
  type HostNetworkPod,
  type AppSelectorRef,
  type SelectorConflict,
} from './live.ts';
