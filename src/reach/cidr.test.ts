import { describe, expect, it } from 'vitest';
import { blockAdmits, parseCidr, toCidrs, uncovered } from './cidr.ts';

describe('parseCidr', () => {
  it.each(['10/8', '10.0.0.0', '10.0.0.0/33', 'fd00::/129', 'nonsense/8', '10.0.0.0/x'])(
    'refuses %s',
    (cidr) => {
      expect(() => parseCidr(cidr)).toThrow(/is not an IPv4 or IPv6 CIDR/);
    },
  );

  it('ignores host bits like the apiserver', () => {
    expect(toCidrs(parseCidr('10.1.2.3/8'))).toEqual(['10.0.0.0/8']);
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
});
