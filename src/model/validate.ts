// Validation of Spaces, Apps and Peerings: every rule the CRD's CEL holds, plus what CEL cannot
// see (another object: the App's Space, the Peering's siblings). Returns FieldError[]; empty =
// valid. Messages say what is wrong and what to do. Pure; used by the webhook, the controllers
// (status) and the CLI.
import { DEFAULT_SETTINGS, type PlatformSettings } from './settings.ts';
import type { App } from '../api/v1alpha1/app.ts';
import type { Space } from '../api/v1alpha1/index.ts';
import { MAX_TRUSTED_IP_RANGES, SPACE_GENERATIONS } from '../api/v1alpha1/constants.ts';
import { prefixLength } from './cidr.ts';
import { checkCidr, checkDnsName, checkLabels, isDnsLabel, isServiceName } from './checks.ts';
import { DISCOVERY_ZONE, allowedSuffixOf, reservedZoneOf, underSuffix } from './dns.ts';
import { processErrors } from './processes.ts';
import { DEFAULT_DNS_SUFFIX, spaceDnsDomain } from './space.ts';
import type { FieldError } from './types.ts';

export { validatePeering } from './validate-peering.ts';

/** Namespaces a Space must not take over. */
export const RESERVED_NAMESPACES: readonly string[] = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
];

function spaceNameErrors(space: Space): FieldError[] {
  const name = space.metadata.name;
  if (!isDnsLabel(name)) {
    return [
      {
        field: 'metadata.name',
        message: `"${name}" is not a DNS label (at most 63 lower-case letters, digits and -); the Space's namespace takes its name, so pick one like "acme"`,
      },
    ];
  }
  if (RESERVED_NAMESPACES.includes(name)) {
    return [
      { field: 'metadata.name', message: `"${name}" is a system namespace; pick another name for the Space` },
    ];
  }
  return [];
}

function spaceCidrErrors(cidr: string): FieldError[] {
  const problem = checkCidr(cidr, '10.0.0.0/16', { rfc1918: true });
  if (problem) return [{ field: 'spec.cidr', message: problem }];
  if (prefixLength(cidr) !== 16) {
    return [
      {
        field: 'spec.cidr',
        message: `${cidr} is a /${prefixLength(cidr)}; a Space needs a /16, such as 10.0.0.0/16`,
      },
    ];
  }
  return [];
}

function trustedRangeErrors(ranges: readonly string[]): FieldError[] {
  const errors: FieldError[] = [];
  if (ranges.length > MAX_TRUSTED_IP_RANGES) {
    errors.push({
      field: 'spec.trustedIPRanges',
      message: `${ranges.length} ranges given, at most ${MAX_TRUSTED_IP_RANGES} are allowed; merge neighbouring ranges`,
    });
  }
  ranges.forEach((r, i) => {
    const problem = checkCidr(r, '203.0.113.0/24', { rfc1918: false });
    if (problem) errors.push({ field: `spec.trustedIPRanges[${i}]`, message: problem });
    else if (ranges.indexOf(r) !== i) {
      errors.push({
        field: `spec.trustedIPRanges[${i}]`,
        message: `${r} is listed twice; remove the duplicate`,
      });
    }
  });
  return errors;
}

const IMMUTABLE_SPACE_FIELDS = ['cidr', 'region', 'generation'] as const;

function spaceChangeErrors(space: Space, old: Space): FieldError[] {
  return IMMUTABLE_SPACE_FIELDS.filter((f) => space.spec[f] !== old.spec[f]).map((f) => ({
    field: `spec.${f}`,
    message: `spec.${f} is immutable (it was ${old.spec[f]}); a Space keeps it for life, so create a new Space to change it`,
  }));
}

/** The allowed suffixes as a phrase for messages. */
const allowedList = (settings: PlatformSettings): string =>
  settings.allowedDnsSuffixes.length === 0
    ? 'none is allowed'
    : `allowed: ${settings.allowedDnsSuffixes.join(', ')}`;

// A Space's explicit dnsDomain: never a zone of the cluster's own DNS or of discovery, and under
// a suffix the platform admin allows (the default <space>.spaces.local always is).
function dnsDomainErrors(space: Space, settings: PlatformSettings): FieldError[] {
  const d = space.spec.dnsDomain;
  if (d === undefined || checkDnsName(d)) return [];
  const field = 'spec.dnsDomain';
  if (d === DISCOVERY_ZONE || d.endsWith(`.${DISCOVERY_ZONE}`)) return [];
  const reserved = reservedZoneOf(d);
  if (reserved) {
    return [
      {
        field,
        message: `${d} is in or above ${reserved}, which the cluster's own DNS serves; pick another domain`,
      },
    ];
  }
  if (d === `${space.metadata.name}.${DEFAULT_DNS_SUFFIX}` || allowedSuffixOf(d, settings.allowedDnsSuffixes))
    return [];
  return [
    {
      field,
      message: `${d} is not under an allowed suffix (${allowedList(settings)}); leave spec.dnsDomain unset to use ${space.metadata.name}.${DEFAULT_DNS_SUFFIX}, or ask the platform admin to allow it with --allowed-dns-suffixes`,
    },
  ];
}

/**
 * A Space's domain may not equal, contain or lie inside another Space's (it would capture the
 * other Space's names). `others`: the other Spaces of the cluster (the webhook's cache).
 */
export function spaceDomainOverlapErrors(space: Space, others: readonly Space[]): FieldError[] {
  const mine = spaceDnsDomain(space).toLowerCase();
  for (const other of others) {
    if (other.metadata.name === space.metadata.name || other.metadata.deletionTimestamp) continue;
    const theirs = spaceDnsDomain(other).toLowerCase();
    const how =
      mine === theirs
        ? 'equal to'
        : underSuffix(mine, theirs)
          ? 'inside'
          : underSuffix(theirs, mine)
            ? 'above'
            : '';
    if (how) {
      return [
        {
          field: 'spec.dnsDomain',
          message: `${mine} is ${how} ${theirs}, the dnsDomain of Space ${other.metadata.name}; pick a domain no other Space uses`,
        },
      ];
    }
  }
  return [];
}

function spaceOtherErrors(space: Space): FieldError[] {
  const errors: FieldError[] = [];
  const { region, generation, dnsDomain } = space.spec;
  if (!isDnsLabel(region)) {
    errors.push({
      field: 'spec.region',
      message: `"${region}" is not a region name (a DNS label such as us or eu)`,
    });
  }
  if (!SPACE_GENERATIONS.includes(generation)) {
    errors.push({
      field: 'spec.generation',
      message: `"${String(generation)}" is not a generation; use cedar or fir`,
    });
  }
  const check = dnsDomain === undefined ? undefined : checkDnsName(dnsDomain);
  if (check) errors.push({ field: 'spec.dnsDomain', message: check });
  else if (
    dnsDomain !== undefined &&
    (dnsDomain === DISCOVERY_ZONE || dnsDomain.endsWith(`.${DISCOVERY_ZONE}`))
  ) {
    errors.push({
      field: 'spec.dnsDomain',
      message: `${DISCOVERY_ZONE} is reserved for DNS service discovery; pick another domain`,
    });
  }
  return errors;
}

export function validateSpace(
  space: Space,
  old?: Space,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): FieldError[] {
  return [
    ...spaceNameErrors(space),
    ...spaceCidrErrors(space.spec.cidr),
    ...spaceOtherErrors(space),
    ...dnsDomainErrors(space, settings),
    ...trustedRangeErrors(space.spec.trustedIPRanges),
    ...(old ? spaceChangeErrors(space, old) : []),
  ];
}

function appSpaceErrors(app: App, space: Space | undefined, old: App | undefined): FieldError[] {
  if (!space) {
    return [
      {
        field: 'metadata.namespace',
        message: `namespace "${app.metadata.namespace ?? ''}" belongs to no Space; create the App in its Space's namespace (kubectl get spaces)`,
      },
    ];
  }
  if (space.spec.generation === 'fir' && app.spec.internalRouting) {
    return [
      {
        field: 'spec.internalRouting',
        message: `Internal Routing is not available in fir spaces and Space "${space.metadata.name}" is fir; set spec.internalRouting to false or use a cedar Space`,
      },
    ];
  }
  // A true the old object already had (the old CRD default) is kept and ignored, not refused:
  // refusing it would make every later write to an upgraded fir App fail (see validateStoredApp).
  if (space.spec.generation === 'fir' && app.spec.dnsDiscovery === true && old?.spec.dnsDiscovery !== true) {
    return [
      {
        field: 'spec.dnsDiscovery',
        message: `DNS service discovery is not available in fir spaces and Space "${space.metadata.name}" is fir; remove spec.dnsDiscovery (or set it to false) or use a cedar Space`,
      },
    ];
  }
  return [];
}

function appSpecErrors(app: App): FieldError[] {
  const errors: FieldError[] = [];
  const { port, acm, internalRouting, selector } = app.spec;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    errors.push({
      field: 'spec.port',
      message: `${port} is not a port; use a number from 1 to 65535 (default 5000)`,
    });
  }
  if (acm && internalRouting) {
    errors.push({
      field: 'spec.acm',
      message:
        'Automated Certificate Management cannot be used with Internal Routing (a certificate authority cannot validate a private name); set spec.acm to false and use a custom certificate',
    });
  }
  if (selector) errors.push(...checkLabels(selector.matchLabels, 'spec.selector.matchLabels'));
  errors.push(...processErrors(app));
  return errors;
}

function domainErrors(app: App, space: Space | undefined, settings: PlatformSettings): FieldError[] {
  const domains = app.spec.domains ?? [];
  const errors: FieldError[] = [];
  domains.forEach((d, i) => {
    const field = `spec.domains[${i}]`;
    const problem = checkDnsName(d);
    if (problem) errors.push({ field, message: problem });
    else if (d === DISCOVERY_ZONE || d.endsWith(`.${DISCOVERY_ZONE}`)) {
      errors.push({
        field,
        message: `${d} is under ${DISCOVERY_ZONE}, which DNS service discovery owns; remove it`,
      });
    } else if (domains.indexOf(d) !== i)
      errors.push({ field, message: `${d} is listed twice; remove the duplicate` });
    else {
      const message = space ? customDomainProblem(d, app, space, settings) : undefined;
      if (message) errors.push({ field, message });
    }
  });
  return errors;
}

// A custom domain is the App's own name under its Space's domain, or a name under a suffix the
// platform admin allows; never in or above the cluster's own zones.
function customDomainProblem(
  d: string,
  app: App,
  space: Space,
  settings: PlatformSettings,
): string | undefined {
  const reserved = reservedZoneOf(d);
  if (reserved) return `${d} is in or above ${reserved}, which the cluster's own DNS serves; remove it`;
  const own = spaceDnsDomain(space).toLowerCase();
  if (underSuffix(d, own)) {
    const mine = `${app.metadata.name}.${own}`;
    if (underSuffix(d, mine)) return undefined;
    return `${d} is in ${own}, the domain of Space ${space.metadata.name}, where this App may only use ${mine} and names below it; rename it or remove it`;
  }
  if (allowedSuffixOf(d, settings.allowedDnsSuffixes)) return undefined;
  return `${d} is not under an allowed suffix (${allowedList(settings)}); use a name under ${own}, or ask the platform admin to allow it with --allowed-dns-suffixes`;
}

export function validateApp(
  app: App,
  space: Space | undefined,
  old?: App,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): FieldError[] {
  const errors: FieldError[] = [];
  if (!isServiceName(app.metadata.name)) {
    errors.push({
      field: 'metadata.name',
      message: `"${app.metadata.name}" cannot name a Service: use at most 63 lower-case letters, digits and -, starting with a letter`,
    });
  }
  errors.push(
    ...appSpaceErrors(app, space, old),
    ...appSpecErrors(app),
    ...domainErrors(app, space, settings),
  );
  if (old && old.spec.internalRouting !== app.spec.internalRouting) {
    errors.push({
      field: 'spec.internalRouting',
      message: `spec.internalRouting is immutable: Internal Routing is chosen when the app is created and can never be turned ${app.spec.internalRouting ? 'on' : 'off'}; create a new App to change it`,
    });
  }
  return errors;
}

/**
 * The checks for an App already stored in the API (the reconciler's): what the webhook refuses on
 * a create, except what only a change can break. A stored object is its own predecessor, so a
 * spec.dnsDiscovery: true kept on a fir Space (the old CRD default) is not an error: the
 * reconciler treats it as off and reports it (condition DnsDiscovery, reason IgnoredOnFir).
 */
export function validateStoredApp(
  app: App,
  space: Space | undefined,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): FieldError[] {
  return validateApp(app, space, app, settings);
}
