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
import { DISCOVERY_ZONE } from './dns.ts';
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
  void settings;
  return [
    ...spaceNameErrors(space),
    ...spaceCidrErrors(space.spec.cidr),
    ...spaceOtherErrors(space),
    ...trustedRangeErrors(space.spec.trustedIPRanges),
    ...(old ? spaceChangeErrors(space, old) : []),
  ];
}

function appSpaceErrors(app: App, space: Space | undefined): FieldError[] {
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
  return errors;
}

function domainErrors(domains: readonly string[]): FieldError[] {
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
  });
  return errors;
}

export function validateApp(
  app: App,
  space: Space | undefined,
  old?: App,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): FieldError[] {
  void settings;
  const errors: FieldError[] = [];
  if (!isServiceName(app.metadata.name)) {
    errors.push({
      field: 'metadata.name',
      message: `"${app.metadata.name}" cannot name a Service: use at most 63 lower-case letters, digits and -, starting with a letter`,
    });
  }
  errors.push(...appSpaceErrors(app, space), ...appSpecErrors(app), ...domainErrors(app.spec.domains ?? []));
  if (old && old.spec.internalRouting !== app.spec.internalRouting) {
    errors.push({
      field: 'spec.internalRouting',
      message: `spec.internalRouting is immutable: Internal Routing is chosen when the app is created and can never be turned ${app.spec.internalRouting ? 'on' : 'off'}; create a new App to change it`,
    });
  }
  return errors;
}
