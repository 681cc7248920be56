// DNS name helpers: normalisation, syntax, "is in zone", and the zones no App may touch.

/** The zone of DNS service discovery names (`<process>.<app>.app.localspace`). */
export const LOCALSPACE_ZONE = 'app.localspace';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Lower case, no trailing dot. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** A DNS name of at least two RFC 1123 labels, at most 253 characters. */
export function isValidName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.length >= 2 && labels.every((l) => l.length <= 63 && LABEL.test(l));
}

/** True when `name` is `zone` or below it. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** True when either name is in the other's zone. */
export function overlaps(a: string, b: string): boolean {
  return inZone(a, b) || inZone(b, a);
}

/** Zones no App or Space may be in, or above: they belong to the cluster's own DNS. */
export function reservedZones(clusterDomain: string): string[] {
  return [normalizeName(clusterDomain), 'in-addr.arpa', 'ip6.arpa', 'localhost'];
}

/**
 * Why `name` may not be served at all, or undefined when it may: reserved zones may be neither
 * entered nor covered (a zone above `cluster.local` would take the cluster's own names), and a
 * zone another server block already serves cannot be declared twice (CoreDNS refuses to load).
 */
export function reservedBecause(name: string, reserved: string[], foreign: string[]): string | undefined {
  const hit = reserved.find((z) => overlaps(name, z));
  if (hit) return `it is in or above ${hit}, which the cluster's own DNS serves`;
  if (foreign.includes(name)) return 'another CoreDNS server block already serves this zone';
  return undefined;
}

/** Lexicographic comparison for deterministic sorting. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
