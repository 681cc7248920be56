import { describe, expect, it } from 'vitest';
import type { Peering } from '../api/v1alpha1/peering.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { makePeering, makeSpace } from './fixtures.ts';
import { validatePeering } from './validate-peering.ts';

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
