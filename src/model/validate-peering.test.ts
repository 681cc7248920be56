import { describe, expect, it } from 'vitest';
import type { Peering } from '../api/v1alpha1/peering.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { makePeering, makeSpace } from './fixtures.ts';
import { clusterRanges, validatePeering } from './validate-peering.ts';

type PeeringCase = [string, Peering, Space | undefined, Peering[], string, RegExp];
const space = makeSpace('acme', { cidr: '10.20.0.0/16' });

describe('validatePeering', () => {
  it.each<[string, Peering]>([
    ['the example', makePeering()],
    [
      'several ranges',
      makePeering({ spec: { cidrs: ['192.168.50.0/24', '172.20.0.0/16', '10.30.0.0/16'] } }),
    ],
    [
      'a vpn with a gateway',
      makePeering({ spec: { type: 'vpn', peer: { gatewayAddress: '198.51.100.7' } } }),
    ],
  ])('accepts %s', (_name, p) => expect(validatePeering(p, space, [])).toEqual([]));

  const other = makePeering({ name: 'dc', spec: { cidrs: ['192.168.0.0/16'] } });

  it.each<PeeringCase>([
    [
      'no Space',
      makePeering({ namespace: 'default' }),
      undefined,
      [],
      'metadata.namespace',
      /belongs to no Space/,
    ],
    [
      'fir Space',
      makePeering(),
      makeSpace('acme', { generation: 'fir' }),
      [],
      'metadata.namespace',
      /not available on fir/,
    ],
    [
      'malformed CIDR',
      makePeering({ spec: { cidrs: ['192.168.50/24'] } }),
      space,
      [],
      'spec.cidrs[0]',
      /not an IPv4 CIDR/,
    ],
    [
      'host bits',
      makePeering({ spec: { cidrs: ['192.168.50.1/24'] } }),
      space,
      [],
      'spec.cidrs[0]',
      /192.168.50.0\/24/,
    ],
    [
      'public range',
      makePeering({ spec: { cidrs: ['8.8.8.0/24'] } }),
      space,
      [],
      'spec.cidrs[0]',
      /RFC 1918/,
    ],
    [
      'inside the Space',
      makePeering({ spec: { cidrs: ['10.20.5.0/24'] } }),
      space,
      [],
      'spec.cidrs[0]',
      /overlaps the Space CIDR 10.20.0.0\/16/,
    ],
    [
      'containing the Space',
      makePeering({ spec: { cidrs: ['10.0.0.0/8'] } }),
      space,
      [],
      'spec.cidrs[0]',
      /overlaps the Space CIDR/,
    ],
    [
      'unavailable 10.1/16',
      makePeering({ spec: { cidrs: ['10.1.2.0/24'] } }),
      space,
      [],
      'spec.cidrs[0]',
      /overlaps 10.1.0.0\/16, which is unavailable/,
    ],
    [
      'unavailable 172.17/16',
      makePeering({ spec: { cidrs: ['172.17.0.0/16'] } }),
      space,
      [],
      'spec.cidrs[0]',
      /unavailable to peers/,
    ],
    [
      'overlap within itself',
      makePeering({ spec: { cidrs: ['192.168.0.0/16', '192.168.50.0/24'] } }),
      space,
      [],
      'spec.cidrs[1]',
      /listed earlier/,
    ],
    [
      'overlap with a sibling',
      makePeering(),
      space,
      [other],
      'spec.cidrs[0]',
      /overlaps 192.168.0.0\/16 of Peering "dc"/,
    ],
    [
      'vpn without gateway',
      makePeering({ spec: { type: 'vpn' } }),
      space,
      [],
      'spec.peer.gatewayAddress',
      /VPN gateway/,
    ],
    [
      'bad gateway',
      makePeering({ spec: { type: 'vpn', peer: { gatewayAddress: '1.2.3' } } }),
      space,
      [],
      'spec.peer.gatewayAddress',
      /IPv4 address/,
    ],
    ['no CIDRs', makePeering({ spec: { cidrs: [] } }), space, [], 'spec.cidrs', /from 1 to 10/],
    [
      '11 CIDRs',
      makePeering({ spec: { cidrs: Array.from({ length: 11 }, (_, i) => `192.168.${i}.0/24`) } }),
      space,
      [],
      'spec.cidrs',
      /from 1 to 10/,
    ],
    ['bad type', makePeering({ spec: { type: 'gre' as 'vpc' } }), space, [], 'spec.type', /vpc or vpn/],
  ])('%s → %s', (...row: PeeringCase) => {
    const [, p, s, others, field, message] = row;
    const errors = validatePeering(p, s, others);
    expect(errors.map((e) => e.field)).toEqual([field]);
    expect(errors[0]?.message).toMatch(message);
  });

  it('a Space of 10.1.0.0/16 reports the overlap with itself, not with the reserved range', () => {
    const s = makeSpace('acme', { cidr: '10.1.0.0/16' });
    const errors = validatePeering(makePeering({ spec: { cidrs: ['10.1.0.0/24'] } }), s, []);
    expect(errors).toEqual([
      { field: 'spec.cidrs[0]', message: expect.stringMatching(/Space CIDR 10.1.0.0\/16/) },
    ]);
  });

  it('ignores itself and peerings of other namespaces', () => {
    const p = makePeering();
    const elsewhere = makePeering({ name: 'x', namespace: 'other' });
    expect(validatePeering(p, space, [p, elsewhere])).toEqual([]);
  });

  it('refuses a change of type', () => {
    const p = makePeering({ spec: { type: 'vpn', peer: { gatewayAddress: '198.51.100.7' } } });
    const errors = validatePeering(p, space, [], makePeering());
    expect(errors).toEqual([{ field: 'spec.type', message: expect.stringMatching(/immutable/) }]);
  });
});

describe('clusterRanges', () => {
  const node = {
    metadata: { name: 'n1' },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] },
    status: {
      addresses: [
        { type: 'InternalIP', address: '172.18.0.2' },
        { type: 'ExternalIP', address: '203.0.113.9' },
        { type: 'Hostname', address: 'n1' },
        { type: 'InternalIP', address: 'fd00::2' },
      ],
    },
  };
  const svc = { metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12', 'fd00:10::/108'] } };

  it('lists Service ranges, pod CIDRs, node addresses as /32 and the configured ranges, IPv4 only', () => {
    expect(clusterRanges([node], [svc], ['100.64.0.0/10'])).toEqual([
      { cidr: '10.96.0.0/12', what: "the cluster's Service range 10.96.0.0/12 (ServiceCIDR kubernetes)" },
      { cidr: '10.244.1.0/24', what: "the cluster's pod range 10.244.1.0/24 of node n1" },
      { cidr: '172.18.0.2/32', what: 'the address 172.18.0.2 (InternalIP) of node n1' },
      { cidr: '203.0.113.9/32', what: 'the address 203.0.113.9 (ExternalIP) of node n1' },
      { cidr: '100.64.0.0/10', what: 'the cluster range 100.64.0.0/10 (--cluster-cidrs)' },
    ]);
  });

  it('is empty for a cluster it cannot see', () => {
    expect(clusterRanges([{ metadata: { name: 'bare' } }], [])).toEqual([]);
  });
});

describe('validatePeering against the cluster ranges', () => {
  const cluster = clusterRanges(
    [
      {
        metadata: { name: 'n1' },
        spec: { podCIDR: '10.244.1.0/24' },
        status: { addresses: [{ type: 'InternalIP', address: '192.168.7.4' }] },
      },
    ],
    [{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } }],
    ['172.30.0.0/16'],
  );

  it.each([
    ['10.244.0.0/16', "10.244.0.0/16 overlaps the cluster's pod range 10.244.1.0/24 of node n1"],
    ['10.244.1.128/25', "10.244.1.128/25 overlaps the cluster's pod range 10.244.1.0/24 of node n1"],
    [
      '10.96.0.0/16',
      "10.96.0.0/16 overlaps the cluster's Service range 10.96.0.0/12 (ServiceCIDR kubernetes)",
    ],
    ['10.0.0.0/8', "10.0.0.0/8 overlaps the cluster's Service range 10.96.0.0/12 (ServiceCIDR kubernetes)"],
    ['192.168.7.0/24', '192.168.7.0/24 overlaps the address 192.168.7.4 (InternalIP) of node n1'],
    ['172.30.5.0/24', '172.30.5.0/24 overlaps the cluster range 172.30.0.0/16 (--cluster-cidrs)'],
  ])('refuses %s', (cidr, message) => {
    const p = makePeering({ spec: { cidrs: ['192.168.50.0/24', cidr] } });
    expect(validatePeering(p, space, [], undefined, cluster)).toEqual([
      { field: 'spec.cidrs[1]', message: `${message}; a peer network must not cover the cluster` },
    ]);
  });

  it('accepts ranges beside the cluster', () => {
    const p = makePeering({ spec: { cidrs: ['192.168.50.0/24', '10.245.0.0/16', '172.31.0.0/16'] } });
    expect(validatePeering(p, space, [], undefined, cluster)).toEqual([]);
  });
});
