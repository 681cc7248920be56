// Cluster-wide settings only the platform admin sets (flags of the operator, values of the
// install): nothing a Space admin or a developer writes can change them. Pure data.

/** Pod Security Standards level enforced on every Space namespace. */
export type PodSecurityLevel = 'baseline' | 'restricted';

export interface PlatformSettings {
  /** The operator's own namespace: never a Space, never adopted. */
  operatorNamespace: string;
  /**
   * DNS suffixes under which a Space's `dnsDomain` and an App's custom `domains` may fall
   * (`example.com` allows `example.com` and `*.example.com`). Empty: only the Space's own domain.
   */
  allowedDnsSuffixes: readonly string[];
  /**
   * The cluster's own address ranges that the API does not show (pod CIDR when nodes carry no
   * `spec.podCIDR`, node networks, load-balancer pools): no Peering may cover them.
   */
  clusterCidrs: readonly string[];
  /** Pod Security level labelled (and enforced) on Space namespaces. */
  podSecurity: PodSecurityLevel;
}

export const DEFAULT_SETTINGS: PlatformSettings = {
  operatorNamespace: 'spaces-system',
  allowedDnsSuffixes: [],
  clusterCidrs: [],
  podSecurity: 'baseline',
};

export function platformSettings(partial: Partial<PlatformSettings> = {}): PlatformSettings {
  return { ...DEFAULT_SETTINGS, ...partial };
}

/** A comma-separated flag value as a list (blank entries dropped). */
export function listFlag(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
