// IPv4 CIDR arithmetic for Spaces and Peerings (ipaddr.js underneath). Pure.
//
// Heroku's vocabulary: a Space owns a /16 inside RFC 1918; addresses of dynos and load
// balancers come from four /20s of it ("Space CIDRs"); a peer must route the whole /16 and
// must not use the "Unavailable CIDRs".
import ipaddr from 'ipaddr.js';

export const RFC1918_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
/**
 * Ranges reserved by the platform that a peer network must not use (Heroku's defaults:
 * 10.1.0.0/16 for its own infrastructure, 172.17.0.0/16 being Docker's default bridge).
 */
export const RESERVED_CIDRS: readonly string[] = ['10.1.0.0/16', '172.17.0.0/16'];
/** Third-octet offsets of the four /20s Heroku lists for a /16: .0, .16, .128, .144. */
const DYNO_SUBNET_OFFSETS = [0, 16, 128, 144] as const;

interface Cidr {
  /** Network address as a 32-bit unsigned integer. */
  base: number;
  prefix: number;
}

/** Strict parse: four decimal octets, a prefix 0..32; host bits may be set (see isCanonicalCidr). */
function parse(text: string): Cidr | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text);
  if (!m || !ipaddr.IPv4.isValidFourPartDecimal(m[1] as string)) return undefined;
  const prefix = Number(m[2]);
  if (prefix > 32) return undefined;
  const bytes = ipaddr.IPv4.parse(m[1] as string).toByteArray();
  const addr = bytes.reduce((acc, b) => acc * 256 + b, 0);
  return { base: addr - (addr % 2 ** (32 - prefix)), prefix };
}

function format(c: Cidr): string {
  const bytes = [24, 16, 8, 0].map((shift) => Math.floor(c.base / 2 ** shift) % 256);
  return `${bytes.join('.')}/${c.prefix}`;
}

function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

function mustParse(text: string): Cidr {
  const c = parse(text);
  if (!c) throw new RangeError(`"${text}" is not an IPv4 CIDR`);
  return c;
}

export function isIpv4Cidr(text: string): boolean {
  return parse(text) !== undefined;
}

export function isIpv4Address(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** True when `text` is an IPv4 CIDR written as its network address (10.0.0.0/16, not 10.0.5.0/16). */
export function isCanonicalCidr(text: string): boolean {
  const c = parse(text);
  return c !== undefined && format(c) === text;
}

/** The network address form: 10.0.5.7/16 → 10.0.0.0/16. Throws on anything but an IPv4 CIDR. */
export function canonicalCidr(text: string): string {
  return format(mustParse(text));
}

export function prefixLength(text: string): number {
  return mustParse(text).prefix;
}

/** True when every address of `inner` is in `outer`. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parse(outer);
  const i = parse(inner);
  return o !== undefined && i !== undefined && i.prefix >= o.prefix && i.base - (i.base % size(o)) === o.base;
}

/** True when the two CIDRs share at least one address (for CIDRs: one contains the other). */
export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** True when the whole CIDR lies in 10/8, 172.16/12 or 192.168/16 (RFC 1918). */
export function isRfc1918(text: string): boolean {
  return isIpv4Cidr(text) && RFC1918_RANGES.some((r) => cidrContains(r, text));
}

/** The four /20s Heroku lists as a Space's CIDRs: 10.0.0.0/16 → .0, .16, .128, .144 /20s. */
export function dynoSubnets(cidr: string): string[] {
  const c = mustParse(cidr);
  if (c.prefix !== 16) throw new RangeError(`dyno subnets are defined for a /16, not ${cidr}`);
  return DYNO_SUBNET_OFFSETS.map((third) => format({ base: c.base + third * 256, prefix: 20 }));
}

/**
 * The Unavailable CIDRs a peer of this Space must not use: the reserved ranges, except those that
 * overlap the Space's own CIDR (a Space created as 10.1.0.0/16 owns that range; the rule "do not
 * overlap the Space" already covers it, and listing it twice would only confuse).
 */
export function unavailableCIDRs(spaceCidr: string, reserved: readonly string[] = RESERVED_CIDRS): string[] {
  return sortCidrs(reserved.filter((r) => !cidrsOverlap(r, spaceCidr)));
}

/** Canonical, de-duplicated, in address order (then shorter prefix first). Drops non-CIDRs. */
export function sortCidrs(list: readonly string[]): string[] {
  const parsed = list.map(parse).filter((c): c is Cidr => c !== undefined);
  parsed.sort((a, b) => a.base - b.base || a.prefix - b.prefix);
  return [...new Set(parsed.map(format))];
}
