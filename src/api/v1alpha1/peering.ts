// Peering: a VPC peering or VPN connection between a Space and another private network.
// The peer's CIDRs are admitted to the Space's internal apps once the Peering is active; the
// status lists the routes the peer must add (the Space's whole /16).
import { Type, type Static } from '@sinclair/typebox';
import {
  CEL_RFC1918,
  Conditions,
  Ipv4Cidr,
  ObservedGeneration,
  StringEnum,
  cel,
  immutable,
  ResourceSchema,
} from './common.ts';
import { PEERING_TYPES, PEERING_PHASES, MAX_PEERING_CIDRS } from './constants.ts';

export const PeerSchema = Type.Object(
  {
    accountID: Type.Optional(
      Type.String({ description: 'Account that owns the peer network (vpc).', maxLength: 64 }),
    ),
    vpcID: Type.Optional(Type.String({ description: 'Identifier of the peer VPC (vpc).', maxLength: 64 })),
    gatewayAddress: Type.Optional(
      Type.String({
        description: 'Public IPv4 address of the customer VPN gateway (vpn; required for vpn).',
        maxLength: 15,
        ...cel({
          rule: 'isIP(self) && ip(self).family() == 4',
          message: 'spec.peer.gatewayAddress must be an IPv4 address such as 198.51.100.7',
        }),
      }),
    ),
  },
  { description: 'The other side of the connection.' },
);

export const PeeringSpecSchema = Type.Object(
  {
    type: StringEnum(PEERING_TYPES, {
      description: 'vpc (VPC peering) or vpn (site-to-site VPN). Fixed at creation.',
      ...cel(immutable('spec.type is immutable: create a new Peering for the other connection type')),
    }),
    cidrs: Type.Array(
      Ipv4Cidr({
        field: 'each entry of spec.cidrs',
        example: '192.168.50.0/24',
        description: 'A private IPv4 range of the peer network.',
        rules: [
          {
            rule: CEL_RFC1918,
            message:
              'each entry of spec.cidrs must be a private RFC 1918 range (inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)',
          },
        ],
      }),
      {
        description:
          "The peer network ranges admitted to the Space's internal apps once the peering is active. RFC 1918, " +
          'not overlapping the Space CIDR, its unavailable CIDRs or another Peering of the Space. 1 to 10.',
        minItems: 1,
        maxItems: MAX_PEERING_CIDRS,
        'x-kubernetes-list-type': 'set',
      },
    ),
    peer: Type.Optional(PeerSchema),
  },
  {
    description: 'Desired state of the Peering.',
    ...cel({
      rule: "self.type != 'vpn' || (has(self.peer) && has(self.peer.gatewayAddress))",
      fieldPath: '.peer',
      reason: 'FieldValueRequired',
      message:
        "spec.peer.gatewayAddress is required when spec.type is vpn: set it to your VPN gateway's public IP",
    }),
  },
);

export const PeeringStatusSchema = Type.Object(
  {
    phase: Type.Optional(
      StringEnum(PEERING_PHASES, {
        description: 'pending, active (CIDRs admitted) or failed (see message).',
      }),
    ),
    routes: Type.Optional(
      Type.Array(Type.String(), {
        description: 'CIDRs the peer must route to this Space: its whole /16.',
        maxItems: 4,
      }),
    ),
    message: Type.Optional(
      Type.String({ description: 'Why the Peering is not active, or what to do next.' }),
    ),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions('Peering')),
  },
  { description: 'Observed state of the Peering, written by the operator.' },
);

export const PeeringSchema = ResourceSchema('Peering', PeeringSpecSchema, PeeringStatusSchema, {
  description: "A VPC peering or VPN connection of a Space; lives in the Space's namespace.",
});

export type Peer = Static<typeof PeerSchema>;
export type PeeringSpec = Static<typeof PeeringSpecSchema>;
export type PeeringStatus = Static<typeof PeeringStatusSchema>;
export type PeeringType = (typeof PEERING_TYPES)[number];
export type PeeringPhase = (typeof PEERING_PHASES)[number];
export type Peering = Static<typeof PeeringSchema>;
