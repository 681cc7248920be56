// The plain values of privatespaces.dev/v1alpha1, apart from the TypeBox schemas that use them:
// the operator imports only this file at run time (TypeBox costs ~18 MiB RSS to load and only
// `npm run gen:crds` and the tests need the schemas).
export const GROUP = 'privatespaces.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

// App
export const DEFAULT_APP_PORT = 5000;
export const MAX_APP_DOMAINS = 100;
export const MAX_APP_PROCESSES = 16;
export const REACH_KINDS = ['namespace', 'namespaceSelector', 'cidr', 'pods', 'any'] as const;

export const INTERNAL_ROUTING_IMMUTABLE =
  'spec.internalRouting is immutable: Internal Routing is chosen when the app is created and can never be ' +
  'turned on or off; create a new App (and move its domains) to change it';

// Peering
export const PEERING_TYPES = ['vpc', 'vpn'] as const;
export const PEERING_PHASES = ['pending', 'active', 'failed'] as const;
export const MAX_PEERING_CIDRS = 10;

// Space
export const SPACE_GENERATIONS = ['cedar', 'fir'] as const;
export const SPACE_STATES = ['allocating', 'allocated', 'deleting'] as const;
export const DEFAULT_SPACE_CIDR = '10.0.0.0/16';
export const DEFAULT_REGION = 'us';
export const DEFAULT_TRUSTED_IP_RANGES: readonly string[] = ['0.0.0.0/0'];
export const MAX_TRUSTED_IP_RANGES = 20;
