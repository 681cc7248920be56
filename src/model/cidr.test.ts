import { describe, expect, it } from 'vitest';
import {
  canonicalCidr,
  canonicalCidrForm,
  nonCanonicalCidrProblem,
  cidrContains,
  cidrsOverlap,
  dynoSubnets,
  isCanonicalCidr,
  isIpv4Address,
  isIpv4Cidr,
  isRfc1918,
  prefixLength,
  sortCidrs,
  unavailableCIDRs,
  blockAdmits,
  InvalidCidrError,
  parseCidr,
  parseIp,
  toCidrs,
  uncovered,
} from './cidr.ts';

describe('isIpv4Cidr', () => {
  it.each([
    ['10.0.0.0/16', true],
    ['0.0.0.0/0', true],
    ['255.255.255.255/32', true],
    ['10.0.5.7/16', true],
    ['10.0.0.0/33', false],
    ['10.0.0.0', false],
    ['10.0/16', false],
    ['256.0.0.0/8', false],
    ['010.0.0.0/8', false],
    ['::/0', false],
    ['10.0.0.0/16 ', false],
    ['', false],
    ['foo', false],
  ])('%j → %s', (text, want) => expect(isIpv4Cidr(text)).toBe(want));
});

describe('isIpv4Address', () => {
  it.each([
    ['198.51.100.7', true],
    ['1.2.3', false],
    ['1.2.3.256', false],
    ['::1', false],
  ])('%j → %s', (text, want) => expect(isIpv4Address(text)).toBe(want));
});

describe('canonical form', () => {
  it.each([
    ['10.0.0.0/16', true, '10.0.0.0/16'],
    ['10.0.5.7/16', false, '10.0.0.0/16'],
    ['203.0.113.9/24', false, '203.0.113.0/24'],
    ['192.168.1.1/32', true, '192.168.1.1/32'],
    ['1.2.3.4/0', false, '0.0.0.0/0'],
  ])('%s canonical=%s → %s', (text, canonical, masked) => {
    expect(isCanonicalCidr(text)).toBe(canonical);
    expect(canonicalCidr(text)).toBe(masked);
  });
  it('refuses what is not a CIDR', () => {
    expect(isCanonicalCidr('nope')).toBe(false);
    expect(() => canonicalCidr('nope')).toThrow(/not an IPv4 CIDR/);
    expect(() => prefixLength('10.0.0.0')).toThrow(RangeError);
  });
});

describe('containment and overlap', () => {
  it.each([
    ['10.0.0.0/8', '10.20.0.0/16', true, true],
    ['10.20.0.0/16', '10.0.0.0/8', false, true],
    ['10.20.0.0/16', '10.20.0.0/16', true, true],
    ['10.20.0.0/16', '10.21.0.0/16', false, false],
    ['192.168.0.0/16', '192.168.50.0/24', true, true],
    ['172.16.0.0/12', '172.32.0.0/16', false, false],
    ['0.0.0.0/0', '8.8.8.8/32', true, true],
    ['10.0.0.0/8', 'garbage', false, false],
  ])('%s ⊇ %s: %s, overlap %s', (outer, inner, contains, overlap) => {
    expect(cidrContains(outer, inner)).toBe(contains);
    expect(cidrsOverlap(outer, inner)).toBe(overlap);
    expect(cidrsOverlap(inner, outer)).toBe(overlap);
  });
});

describe('isRfc1918', () => {
  it.each([
    ['10.0.0.0/16', true],
    ['10.0.0.0/8', true],
    ['10.0.0.0/7', false],
    ['172.16.0.0/16', true],
    ['172.31.0.0/16', true],
    ['172.32.0.0/16', false],
    ['172.0.0.0/11', false],
    ['192.168.50.0/24', true],
    ['192.169.0.0/16', false],
    ['8.8.0.0/16', false],
    ['100.64.0.0/16', false],
    ['not-a-cidr', false],
  ])('%s → %s', (cidr, want) => expect(isRfc1918(cidr)).toBe(want));
});

describe('dynoSubnets', () => {
  it.each([
    ['10.0.0.0/16', ['10.0.0.0/20', '10.0.16.0/20', '10.0.128.0/20', '10.0.144.0/20']],
    ['10.20.0.0/16', ['10.20.0.0/20', '10.20.16.0/20', '10.20.128.0/20', '10.20.144.0/20']],
    ['192.168.0.0/16', ['192.168.0.0/20', '192.168.16.0/20', '192.168.128.0/20', '192.168.144.0/20']],
    ['172.31.0.0/16', ['172.31.0.0/20', '172.31.16.0/20', '172.31.128.0/20', '172.31.144.0/20']],
  ])('%s → four /20s', (cidr, want) => expect(dynoSubnets(cidr)).toEqual(want));
  it.each(['10.0.0.0/8', '10.0.0.0/24', 'nope'])('%s throws', (cidr) => {
    expect(() => dynoSubnets(cidr)).toThrow(RangeError);
  });
});

describe('unavailableCIDRs', () => {
  it.each([
    ['10.0.0.0/16', ['10.1.0.0/16', '172.17.0.0/16']],
    ['10.1.0.0/16', ['172.17.0.0/16']],
    ['172.17.0.0/16', ['10.1.0.0/16']],
    ['192.168.0.0/16', ['10.1.0.0/16', '172.17.0.0/16']],
  ])('space %s → %j', (space, want) => expect(unavailableCIDRs(space)).toEqual(want));
  it('takes other reserved ranges', () => {
    expect(unavailableCIDRs('10.0.0.0/16', ['10.96.0.0/12', '10.0.128.0/20'])).toEqual(['10.96.0.0/12']);
  });
});

describe('sortCidrs', () => {
  it.each([
    [[], []],
    [
      ['10.2.0.0/16', '10.1.0.0/16', '10.2.0.0/16'],
      ['10.1.0.0/16', '10.2.0.0/16'],
    ],
    [
      ['192.168.0.0/16', '9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16'],
      ['9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', '192.168.0.0/16'],
    ],
    [['203.0.113.7/24', 'bad'], ['203.0.113.0/24']],
  ])('%j → %j', (input, want) => expect(sortCidrs(input)).toEqual(want));

  it('answers a list it sorted before with a copy of its own (a caller may change it)', () => {
    const first = sortCidrs(['10.2.0.0/16', '10.1.0.0/16']);
    first.push('10.9.0.0/16');
    expect(sortCidrs(['10.2.0.0/16', '10.1.0.0/16'])).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    // Same CIDRs, split differently, are a different list.
    expect(sortCidrs(['10.2.0.0/16\n10.1.0.0/16'])).toEqual([]);
  });
});

describe('canonicalCidrForm (attack 12: one reading for the API server, ipset and kube-router)', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['0.0.0.0/00', '0.0.0.0/0'],
    ['010.0.0.0/8', '10.0.0.0/8'],
    ['10.0.0.0/08', '10.0.0.0/8'],
    ['192.168.001.000/24', '192.168.1.0/24'],
    ['10.0.5.7/16', '10.0.0.0/16'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['2001:db8:0:0::/32', '2001:db8::/32'],
    ['2001:db8::1/32', '2001:db8::/32'],
    ['::/0', '::/0'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['::ffff:10.1.2.3/128', '10.1.2.3/32'],
  ])('%s → %s', (text, want) => expect(canonicalCidrForm(text)).toBe(want));

  it.each([
    '',
    'bad',
    '10.0.0.0',
    '10.0.0.256/8',
    '10.0.0.0/33',
    '1.2.3/8',
    '::/129',
    'fe80::/10%eth0',
    '10.0.0.0/-1',
  ])('%j is no CIDR', (text) => expect(canonicalCidrForm(text)).toBeUndefined());
});

describe('nonCanonicalCidrProblem', () => {
  it('passes canonical forms', () => {
    expect(nonCanonicalCidrProblem('10.0.0.0/8')).toBeUndefined();
    expect(nonCanonicalCidrProblem('2001:db8::/32')).toBeUndefined();
  });
  it.each([
    ['010.0.0.0/8', '"010.0.0.0/8" is not canonical; write 10.0.0.0/8'],
    ['0.0.0.0/00', '"0.0.0.0/00" is not canonical; write 0.0.0.0/0'],
    ['::ffff:10.0.0.0/104', '"::ffff:10.0.0.0/104" is not canonical; write 10.0.0.0/8'],
    ['nope', '"nope" is not a CIDR; write one like 10.0.0.0/8'],
  ])('%s', (text, want) => expect(nonCanonicalCidrProblem(text)).toBe(want));
  it('agrees with isCanonicalCidr on IPv4 (Peering cidrs and trustedIPRanges use that one)', () => {
    for (const t of ['10.0.0.0/8', '010.0.0.0/8', '0.0.0.0/00', '10.0.5.0/16', '1.2.3.4/32'])
      expect(nonCanonicalCidrProblem(t) === undefined).toBe(isCanonicalCidr(t));
  });
});

// Address intervals (IPv4 and IPv6), for the reachability evaluator in src/reach.

describe('parseCidr', () => {
  it.each(['10/8', '10.0.0.0', '10.0.0.0/33', 'fd00::/129', 'nonsense/8', '10.0.0.0/x'])(
    'refuses %s',
    (cidr) => {
      expect(() => parseCidr(cidr)).toThrow(/^cidr: "[^"]*" is not an IPv4 or IPv6 CIDR/);
    },
  );

  it('ignores host bits like the apiserver', () => {
    expect(toCidrs(parseCidr('10.1.2.3/8'))).toEqual(['10.0.0.0/8']);
  });

  it('answers a CIDR parsed before with the same frozen interval, and refuses a bad one every time', () => {
    const a = parseCidr('10.7.0.0/16');
    expect(parseCidr('10.7.0.0/16')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    for (let i = 0; i < 2; i++) expect(() => parseCidr('10.7.0.0/33')).toThrow(/not an IPv4 or IPv6 CIDR/);
  });
});

describe('blockAdmits', () => {
  const block = { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.1.0/24'] };
  it.each([
    { ip: '8.8.8.8', want: true },
    { ip: '10.1.2.3', want: false },
    { ip: '192.168.1.9', want: false },
    { ip: '192.168.2.9', want: true },
    { ip: '::ffff:8.8.8.8', want: true },
    { ip: '2001:db8::1', want: false },
  ])('$ip → $want', ({ ip, want }) => {
    expect(blockAdmits(block, ip)).toBe(want);
  });

  it('IPv6 blocks', () => {
    expect(blockAdmits({ cidr: 'fd00::/8', except: ['fd00:1::/32'] }, 'fd00:2::1')).toBe(true);
    expect(blockAdmits({ cidr: 'fd00::/8', except: ['fd00:1::/32'] }, 'fd00:1::1')).toBe(false);
  });
});

describe('uncovered (cidr minus except minus allowed)', () => {
  it.each<{ name: string; cidr: string; except: string[]; allowed: string[]; want: string[] }>([
    { name: 'inside an allowed range', cidr: '10.1.0.0/16', except: [], allowed: ['10.0.0.0/8'], want: [] },
    { name: 'equal to an allowed range', cidr: '10.0.0.0/8', except: [], allowed: ['10.0.0.0/8'], want: [] },
    {
      name: 'wider than the allowed range',
      cidr: '10.0.0.0/15',
      except: [],
      allowed: ['10.0.0.0/16'],
      want: ['10.1.0.0/16'],
    },
    {
      name: 'covered by two allowed ranges together',
      cidr: '10.0.0.0/15',
      except: [],
      allowed: ['10.0.0.0/16', '10.1.0.0/16'],
      want: [],
    },
    {
      name: 'everything but the allowed range is excepted',
      cidr: '0.0.0.0/0',
      except: [
        '0.0.0.0/1',
        '128.0.0.0/2',
        '224.0.0.0/3',
        '192.0.0.0/5',
        '200.0.0.0/5',
        '208.0.0.0/4',
        '196.0.0.0/6',
        '194.0.0.0/7',
        '193.0.0.0/8',
        '192.0.0.0/9',
        '192.128.0.0/11',
        '192.160.0.0/13',
        '192.176.0.0/12',
        '192.169.0.0/16',
        '192.170.0.0/15',
        '192.172.0.0/14',
      ],
      allowed: ['192.168.0.0/16'],
      want: [],
    },
    { name: 'no allowed range', cidr: '192.168.50.0/24', except: [], allowed: [], want: ['192.168.50.0/24'] },
    {
      name: 'families do not mix',
      cidr: 'fd00::/64',
      except: [],
      allowed: ['0.0.0.0/0'],
      want: ['fd00::/64'],
    },
    {
      name: 'remainder tiled',
      cidr: '10.0.0.0/24',
      except: ['10.0.0.0/25'],
      allowed: ['10.0.0.128/26'],
      want: ['10.0.0.192/26'],
    },
  ])('$name', ({ cidr, except, allowed, want }) => {
    expect(uncovered(cidr, except, allowed)).toEqual(want);
  });

  it('answers the same question again with a copy of its own (a caller may change it)', () => {
    const first = uncovered('0.0.0.0/0', ['10.0.0.0/8'], ['192.168.0.0/16']);
    const again = uncovered('0.0.0.0/0', ['10.0.0.0/8'], ['192.168.0.0/16']);
    expect(again).toEqual(first);
    first.length = 0;
    expect(uncovered('0.0.0.0/0', ['10.0.0.0/8'], ['192.168.0.0/16'])).toEqual(again);
    // The same CIDRs in other places are another question.
    expect(uncovered('10.0.0.0/8', [], ['0.0.0.0/0'])).toEqual([]);
  });

  it('answers a question too long to remember (thousands of excepts) the same every time', () => {
    const except = Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const want = uncovered('10.0.0.0/8', except, []);
    expect(want[0]).toBe('10.7.208.0/20');
    expect(uncovered('10.0.0.0/8', except, [])).toEqual(want);
  });
});

describe('InvalidCidrError', () => {
  it('names the field and keeps the reason apart', () => {
    const err = (() => {
      try {
        parseIp('10.0.0.300');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidCidrError);
    expect(err).toMatchObject({ field: 'ip', reason: '"10.0.0.300" is not an IPv4 or IPv6 address' });
    expect((err as Error).message).toBe('ip: "10.0.0.300" is not an IPv4 or IPv6 address');
  });

  it('reads an IPv4-mapped IPv6 address as IPv4', () => {
    expect(parseIp('::ffff:10.0.0.1')).toEqual(parseIp('10.0.0.1'));
  });
});
