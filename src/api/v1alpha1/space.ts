// Space: a Private Space. Cluster-scoped; the operator gives it a namespace of the same name,
// a default-deny ingress policy, and reports the CIDRs a peer needs in its status.
import { Type, type Static } from '@sinclair/typebox';
import {
  CEL_RFC1918,
  Conditions,
  DNS_LABEL_PATTERN,
  DNS_NAME_PATTERN,
  Ipv4Cidr,
  ObservedGeneration,
  StringEnum,
  cel,
  immutable,
  ResourceSchema,
} from './common.ts';
import {
  SPACE_GENERATIONS,
  SPACE_STATES,
  DEFAULT_SPACE_CIDR,
  DEFAULT_REGION,
  DEFAULT_TRUSTED_IP_RANGES,
  MAX_TRUSTED_IP_RANGES,
} from './constants.ts';

export const SpaceSpecSchema = Type.Object(
  {
    cidr: Ipv4Cidr({
      field: 'spec.cidr',
      example: '10.0.0.0/16',
      default: DEFAULT_SPACE_CIDR,
      description:
        'The private IPv4 range of the Space: a /16 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 ' +
        '(RFC 1918). Default 10.0.0.0/16. Chosen at creation and never changed. Peered networks must not use it.',
      rules: [
        {
          rule: '!isCIDR(self) || cidr(self).prefixLength() == 16',
          message: 'spec.cidr must be a /16 (a Space owns 65,536 addresses), such as 10.0.0.0/16',
        },
        {
          rule: CEL_RFC1918,
          message:
            'spec.cidr must be a private RFC 1918 range: a /16 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16',
        },
        immutable(
          'spec.cidr is immutable: a Space keeps the CIDR it was created with; create a new Space to use another range',
        ),
      ],
    }),
    region: Type.String({
      description:
        'Region the Space runs in (a DNS label, e.g. us, eu). Default us. Chosen at creation, never changed.',
      default: DEFAULT_REGION,
      minLength: 1,
      maxLength: 63,
      pattern: DNS_LABEL_PATTERN,
      ...cel(
        immutable(
          'spec.region is immutable: a Space stays in its region; create a new Space in the other region',
        ),
      ),
    }),
    generation: StringEnum(SPACE_GENERATIONS, {
      description:
        'Platform generation: cedar (default) or fir. Fir spaces offer neither Internal Routing, ' +
        'peering/VPN nor DNS service discovery. Chosen at creation and never changed.',
      default: 'cedar',
      ...cel(
        immutable(
          'spec.generation is immutable: a Space keeps its generation; create a new Space to change it',
        ),
      ),
    }),
    trustedIPRanges: Type.Array(
      Ipv4Cidr({
        field: 'each entry of spec.trustedIPRanges',
        example: '203.0.113.0/24',
        description: "An IPv4 CIDR allowed to reach the Space's external apps.",
      }),
      {
        description:
          "Trusted IP ranges: the only sources allowed to reach the web process of the Space's external " +
          '(not internally routed) apps, space-wide. At most 20. Default [0.0.0.0/0] (everyone); an empty ' +
          'list blocks all inbound web traffic from outside the Space. Internal apps ignore it.',
        default: DEFAULT_TRUSTED_IP_RANGES,
        maxItems: MAX_TRUSTED_IP_RANGES,
        'x-kubernetes-list-type': 'set',
      },
    ),
    dnsDomain: Type.Optional(
      Type.String({
        description:
          "DNS domain of the Space's apps: each App answers to <app>.<dnsDomain>. Default <space>.spaces.local.",
        minLength: 1,
        maxLength: 253,
        pattern: DNS_NAME_PATTERN,
      }),
    ),
  },
  { description: 'Desired state of the Space.', default: {} },
);

export const SpaceStatusSchema = Type.Object(
  {
    namespace: Type.Optional(
      Type.String({ description: "The namespace that holds the Space's Apps and Peerings." }),
    ),
    namespaceAdopted: Type.Optional(
      Type.Boolean({
        description:
          'True when the namespace existed and opted in to adoption (annotation privatespaces.dev/adopt); ' +
          'an adopted namespace is released (the operator removes its labels), not deleted, when the Space goes.',
      }),
    ),
    state: Type.Optional(
      StringEnum(SPACE_STATES, { description: 'Lifecycle state: allocating, allocated or deleting.' }),
    ),
    dynoSubnets: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'The four /20s of the Space CIDR from which app and load balancer addresses are assigned.',
        maxItems: 4,
      }),
    ),
    internalRoutingCIDR: Type.Optional(
      Type.String({
        description:
          'The range a peered network must route to reach internal apps: the whole /16 of the Space.',
      }),
    ),
    unavailableCIDRs: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Ranges a peered network must not use, besides the Space CIDR itself.',
        maxItems: 16,
      }),
    ),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions('Space')),
  },
  { description: 'Observed state of the Space, written by the operator.' },
);

export const SpaceSchema = ResourceSchema('Space', SpaceSpecSchema, SpaceStatusSchema, {
  description:
    'A Private Space: an isolated network with its own /16 where apps run. The operator creates a ' +
    "namespace of the same name for the Space's Apps and Peerings.",
  ...cel({
    rule: "size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",
    fieldPath: '.metadata.name',
    message:
      'metadata.name must be a DNS label (at most 63 lower-case letters, digits and -) because the ' +
      "Space's namespace takes its name",
  }),
});

export type SpaceSpec = Static<typeof SpaceSpecSchema>;
export type SpaceStatus = Static<typeof SpaceStatusSchema>;
export type Space = Static<typeof SpaceSchema>;
export type SpaceGeneration = (typeof SPACE_GENERATIONS)[number];
export type SpaceState = (typeof SPACE_STATES)[number];
