// Private Space DNS: the pure rendering of the CoreDNS entries (render.ts, claims.ts). The
// controller that keeps the CoreDNS ConfigMap in step with the cluster is src/controllers/dns/.
export {
  renderCoreDNS,
  byteSize,
  hostsKey,
  namesReason,
  KEYS,
  KEY_PREFIX,
  CONFIGMAP_MAX_BYTES,
} from './render.ts';
export { resolveClaims, type AdmittedApp, type Claim, type ClaimKind, type Claims } from './claims.ts';
export { LOCALSPACE_ZONE, inZone, isValidName, normalizeName } from './names.ts';
export { DnsTooLargeError } from './errors.ts';
export type {
  AppNames,
  ConflictReason,
  DnsApp,
  DnsConflict,
  DnsSpace,
  NamesReason,
  RefusedName,
  RenderOptions,
  RenderResult,
} from './types.ts';
export { dnsSpaces, readyServices, sliceHasReadyEndpoint, SERVICE_NAME_LABEL } from './snapshot.ts';
export type { ClusterState, EndpointSliceLike, ServiceLike } from './snapshot.ts';
export { foreignOf, serverBlockZones, type Foreign } from './foreign.ts';
// The controller (API I/O) is imported from '../controllers/dns/controller.ts' directly.
