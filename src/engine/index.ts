// The engine's public API: generic list+watch caches, a deduplicating work queue, controllers
// with one retry policy, server-side apply, status conditions, Events, leader election,
// metrics, health and logging. Nothing here knows about Spaces or Apps. See README.md.
export { Applier, FIELD_MANAGER } from './apply.ts';
export type { ApplierOptions, ApplyResult, LiveCache, ObjectRef } from './apply.ts';
export { ObjectCache, objectKey, relistDiff } from './cache.ts';
export type { IndexFn, RelistDiff } from './cache.ts';
export { FakeClock, realClock, settle, sleep } from './clock.ts';
export type { Clock, TimerHandle } from './clock.ts';
export { Controller } from './controller.ts';
export type {
  ControllerOptions,
  EventSource,
  ReconcileContext,
  ReconcileResult,
  Reconciler,
} from './controller.ts';
export { ApiError, TerminalError, isConflict, isGone, isNotFound, terminal } from './errors.ts';
export { EventRecorder } from './events.ts';
export type { EventInput, EventRecorderOptions, EventType } from './events.ts';
export { healthResponse, startHealthServer } from './health.ts';
export type { HealthServer, HealthServerOptions, ReadyFn } from './health.ts';
export { Informer } from './informer.ts';
export type { InformerOptions, WatchFn, WatchQuery } from './informer.ts';
export { KubeClient, METADATA_ONLY, apiVersionPath, buildPath } from './kubeclient.ts';
export type { KubeApi, KubeRequest, ResourceRef } from './kubeclient.ts';
export { LeaderElector, decideLease, defaultIdentity, nextLeaseSpec } from './leader.ts';
export type { Lease, LeaseAction, LeaderElectorOptions } from './leader.ts';
export { createLogger, keyLogger, silentLogger } from './log.ts';
export { Manager, every, leaderOnly } from './manager.ts';
export type {
  Elector,
  ElectorCallbacks,
  ManagerOptions,
  ReadyCheck,
  Runnable,
  StopReason,
} from './manager.ts';
export type { Logger, LoggerOptions } from './log.ts';
export { enableDefaultMetrics, metricValue, registry } from './metrics.ts';
export { WorkQueue } from './queue.ts';
export type { KeyHandler, ShutdownOptions, WorkQueueOptions } from './queue.ts';
export {
  BucketRateLimiter,
  ItemExponentialRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './ratelimit.ts';
export type { RateLimiter } from './ratelimit.ts';
export {
  StatusWriter,
  getCondition,
  isConditionTrue,
  mergePatch,
  readyConditions,
  setCondition,
  statusEquivalent,
} from './status.ts';
export type { Condition, ConditionInput, ConditionStatus, Progress, StatusWriterOptions } from './status.ts';
export {
  InternTable,
  NodeTable,
  collapseOwnerReferences,
  composeTransforms,
  internFields,
  internStrings,
  omit,
  slimManagedFields,
} from './slim.ts';
export { deepEqual, isSubset, ownsFieldsNotDesired } from './subset.ts';
export { listAll, watchBackoff } from './watch.ts';
export type { ListResult } from './watch.ts';
