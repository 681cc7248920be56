import { describe, expect, it } from 'vitest';
import type { Peering } from '../api/v1alpha1/peering.ts';
import type { Space } from '../api/v1alpha1/space.ts';
import { makePeering, makeSpace } from './fixtures.ts';
import { activePeeringCidrs, clusterRanges, isOlder, peeringPhase, peeringRoutes } from './peering.ts';

type PeeringCase = [string, Peering, Space | undefined, Peering[], string, RegExp];
const space = makeSpace('acme', { cidr: '10.20.0.0/16' });

describe('peeringRoutes', () => {
  it.each(['10.20.0.0/16', '192.168.0.0/16'])('the whole %s', (cidr) => {
    expect(peeringRoutes(makeSpace('acme', { cidr }))).toEqual([cidr]);
  });
});

describe('activePeeringCidrs', () => {
  it.each<[string, Peering[], string[]]>([
    ['none', [], []],
    [
      'only active ones',
      [
        makePeering({ phase: 'active' }),
        makePeering({ name: 'b', spec: { cidrs: ['10.9.0.0/16'] }, phase: 'failed' }),
      ],
      ['192.168.50.0/24'],
    ],
    ['no status', [makePeering()], []],
    ['other namespace', [makePeering({ namespace: 'x', phase: 'active' })], []],
    [
      'sorted and de-duplicated',
      [
        makePeering({ spec: { cidrs: ['192.168.50.0/24', '10.9.0.0/16'] }, phase: 'active' }),
        makePeering({ name: 'b', spec: { cidrs: ['10.9.0.0/16'] }, phase: 'active' }),
      ],
      ['10.9.0.0/16', '192.168.50.0/24'],
    ],
  ])('%s', (_name, ps, want) => expect(activePeeringCidrs(ps, 'acme')).toEqual(want));
});

describe('isOlder', () => {
  it.each([
    ['2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z', 'b', 'a', true],
    ['2025-01-02T00:00:00Z', '2025-01-01T00:00:00Z', 'a', 'b', false],
    ['2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'a', 'b', true],
    ['2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'b', 'a', false],
    ['2025-01-01T00:00:00Z', undefined, 'z', 'a', true],
    [undefined, '2025-01-01T00:00:00Z', 'a', 'z', false],
  ])('%s/%s %s before %s: %s', (ta, tb, na, nb, want) => {
    expect(isOlder(makePeering({ name: na, created: ta }), makePeering({ name: nb, created: tb }))).toBe(
      want,
    );
  });
});

describe('peeringPhase', () => {
  const older = makePeering({
    name: 'dc',
    spec: { cidrs: ['192.168.0.0/16'] },
    created: '2025-01-01T00:00:00Z',
  });
  const newer = makePeering({
    name: 'lab',
    spec: { cidrs: ['192.168.0.0/16'] },
    created: '2025-03-01T00:00:00Z',
  });
  const me = makePeering({ created: '2025-02-01T00:00:00Z' });

  it.each<PeeringCase>([
    [
      'valid',
      makePeering(),
      space,
      [],
      'active',
      /192.168.50.0\/24 admitted .*route 10.20.0.0\/16 to the Space/,
    ],
    ['no Space', makePeering(), undefined, [], 'failed', /^metadata.namespace: .*belongs to no Space/],
    [
      'fir Space',
      makePeering(),
      makeSpace('acme', { generation: 'fir' }),
      [],
      'failed',
      /not available on fir/,
    ],
    [
      'overlaps the Space',
      makePeering({ spec: { cidrs: ['10.20.0.0/24'] } }),
      space,
      [],
      'failed',
      /^spec.cidrs\[0\]: .*overlaps the Space CIDR/,
    ],
    ['overlaps an older peering', me, space, [older], 'failed', /overlaps 192.168.0.0\/16 of Peering "dc"/],
    ['overlaps only a newer peering', me, space, [newer], 'active', /admitted/],
    [
      'two problems',
      makePeering({ spec: { cidrs: ['8.8.8.0/24', '10.20.1.0/24'] } }),
      space,
      [],
      'failed',
      /spec.cidrs\[0\]: .*; spec.cidrs\[1\]: /,
    ],
  ])('%s → %s', (...row: PeeringCase) => {
    const [, p, s, others, phase, message] = row;
    const verdict = peeringPhase(p, s, others);
    expect(verdict.phase).toBe(phase);
    expect(verdict.message).toMatch(message);
  });

  it('the older of two overlapping peerings wins, whatever their phases', () => {
    const a = { ...older, status: { phase: 'failed' as const } };
    const b = { ...me, status: { phase: 'active' as const } };
    expect(peeringPhase(a, space, [b]).phase).toBe('active');
    expect(peeringPhase(b, space, [a]).phase).toBe('failed');
  });
});

describe('peeringPhase against the cluster ranges', () => {
  const cluster = clusterRanges(
    [{ metadata: { name: 'n1' }, spec: { podCIDR: '10.244.1.0/24' } }],
    [{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } }],
  );

  it('fails a Peering that covers the pod range, whatever it was before', () => {
    const p = makePeering({ spec: { cidrs: ['10.244.0.0/16'] } });
    p.status = { phase: 'active' };
    expect(peeringPhase(p, space, [], cluster)).toEqual({
      phase: 'failed',
      message:
        "spec.cidrs[0]: 10.244.0.0/16 overlaps the cluster's pod range 10.244.1.0/24 of node n1; a peer network must not cover the cluster",
    });
    expect(peeringPhase(p, space, []).phase).toBe('active');
  });

  it('keeps a Peering beside the cluster active', () => {
    expect(peeringPhase(makePeering(), space, [], cluster).phase).toBe('active');
  });
});
