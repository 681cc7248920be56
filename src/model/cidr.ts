// The one CIDR module (ipaddr.js underneath). Pure. Three parts:
// - IPv4 CIDR arithmetic for Spaces and Peerings. Heroku's vocabulary: a Space owns a /16 inside
//   RFC 1918; addresses of dynos and load balancers come from four /20s of it ("Space CIDRs"); a
//   peer must route the whole /16 and must not use the "Unavailable CIDRs".
// - Canonical forms: the one spelling of a CIDR every reader agrees on (the webhook's check).
// - Address intervals (bigint, IPv4 and IPv6 kept apart) for the reachability evaluator (src/reach):
//   whether an ipBlock, minus its `except`, lies inside a set of allowed CIDRs, and whether an
//   address is admitted.
// The model and src/reach both import this file; it imports nothing of the project, so no cycle.
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

/**
 * Answers given lately, by the question's text: forgotten all at once when full, and a question
 * longer than `maxKey` (a tenant's policy may list thousands of excepts) is never kept.
 */
class TextMemo<V> {
  readonly #map = new Map<string, V>();
  readonly #limit: number;
  readonly #maxKey: number;
  constructor(limit: number, maxKey = 4096) {
    [this.#limit, this.#maxKey] = [limit, maxKey];
  }
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    if (key.length > this.#maxKey) return;
    if (this.#map.size >= this.#limit) this.#map.clear();
    this.#map.set(key, value);
  }
}

const sortedCidrs = new TextMemo<readonly string[]>(1024);

/** Canonical, de-duplicated, in address order (then shorter prefix first). Drops non-CIDRs. */
export function sortCidrs(list: readonly string[]): string[] {
  // Every App reconcile sorts its Space's peerings and trusted ranges: the same few lists again
  // and again. A copy of the answer, so a caller may change what it gets.
  const key = JSON.stringify(list);
  const known = sortedCidrs.get(key);
  if (known) return [...known];
  const parsed = list.map(parse).filter((c): c is Cidr => c !== undefined);
  parsed.sort((a, b) => a.base - b.base || a.prefix - b.prefix);
  const sorted = [...new Set(parsed.map(format))];
  sortedCidrs.set(key, sorted);
  return [...sorted];
}

// Canonical CIDRs (issue 16, attack 12). The API server parses a NetworkPolicy's ipBlock
// "sloppily" and only warns about forms that other parsers read differently: `010.0.0.0/8` is
// 10/8 to the API server and 8/8 (octal) to ipset, `0.0.0.0/00` wedged kube-router for the whole
// node, host bits set (`10.0.5.0/16`) and IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) are read as
// different ranges by different tools. The webhook admits only the one form every reader agrees
// on: `canonicalCidrForm(text) === text`.

const SLOPPY_V4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/;

function decimal(digits: string, max: number): number | undefined {
  const n = Number(digits);
  return digits.length <= 4 && n <= max ? n : undefined;
}

function sloppyV4(text: string): string | undefined {
  const m = SLOPPY_V4.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map((d) => decimal(d, 255));
  const prefix = decimal(m[5] as string, 32);
  if (prefix === undefined || octets.some((o) => o === undefined)) return undefined;
  const addr = (octets as number[]).reduce((acc, b) => acc * 256 + b, 0);
  return format({ base: addr - (addr % 2 ** (32 - prefix)), prefix });
}

function sloppyV6(text: string): string | undefined {
  const slash = text.lastIndexOf('/');
  const addr = text.slice(0, slash);
  const prefix = /^\d+$/.test(text.slice(slash + 1)) ? decimal(text.slice(slash + 1), 128) : undefined;
  if (slash < 0 || prefix === undefined || addr.includes('%') || !ipaddr.IPv6.isValid(addr)) return undefined;
  const ip = ipaddr.IPv6.parse(addr);
  if (ip.isIPv4MappedAddress() && prefix >= 96) {
    return sloppyV4(`${ip.toIPv4Address().toString()}/${prefix - 96}`);
  }
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${prefix}`).toRFC5952String()}/${prefix}`;
}

/**
 * The canonical form of a CIDR the API server would accept (IPv4 or IPv6): decimal octets without
 * leading zeros, a prefix without leading zeros, no host bits, IPv6 in RFC 5952 form, an
 * IPv4-mapped IPv6 range written as the IPv4 range. Undefined when `text` is no CIDR at all.
 */
export function canonicalCidrForm(text: string): string | undefined {
  return text.includes(':') ? sloppyV6(text) : sloppyV4(text);
}

/** Why `text` is not a canonical CIDR, ending in what to write; undefined when it is one. */
export function nonCanonicalCidrProblem(text: string): string | undefined {
  const canonical = canonicalCidrForm(text);
  if (canonical === text) return undefined;
  if (canonical === undefined) return `"${text}" is not a CIDR; write one like 10.0.0.0/8`;
  return `"${text}" is not canonical; write ${canonical}`;
}

// Address intervals, for the reachability evaluator.

/**
 * A CIDR or address the interval functions cannot read. `field` is `cidr` or `ip`; src/reach turns it
 * into its InvalidReachInputError (same field, same message).
 */
export class InvalidCidrError extends Error {
  override name = 'InvalidCidrError';
  readonly field: 'cidr' | 'ip';
  readonly reason: string;
  constructor(field: 'cidr' | 'ip', reason: string, options?: ErrorOptions) {
    super(`${field}: ${reason}`, options);
    this.field = field;
    this.reason = reason;
  }
}

export type Family = 4 | 6;
/** An inclusive range of addresses of one family. */
export type Interval = { family: Family; start: bigint; end: bigint };

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function toBigInt(bytes: readonly number[]): bigint {
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

function fromBigInt(value: bigint, family: Family): string {
  const bytes: number[] = [];
  for (let i = 0; i < BITS[family] / 8; i++) bytes.unshift(Number((value >> BigInt(8 * i)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 {
  if (text.includes(':')) return ipaddr.IPv6.parse(text);
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) throw new Error('not a four-part decimal IPv4 address');
  return ipaddr.IPv4.parse(text);
}

/** Intervals of CIDRs parsed lately (the same policies' blocks for every App): frozen, shared. */
const parsedCidrs = new TextMemo<Interval>(4096);

/** The addresses of `cidr` (host bits, as in `10.0.0.1/8`, are ignored like the apiserver's ParseCIDR). */
export function parseCidr(cidr: string): Interval {
  const known = parsedCidrs.get(cidr);
  if (known) return known;
  const parsed = Object.freeze(parseCidrText(cidr));
  parsedCidrs.set(cidr, parsed);
  return parsed;
}

function parseCidrText(cidr: string): Interval {
  const slash = cidr.indexOf('/');
  try {
    if (slash < 0) throw new Error('missing /prefix');
    const addr = parseAddress(cidr.slice(0, slash));
    const family: Family = addr.kind() === 'ipv4' ? 4 : 6;
    const prefixText = cidr.slice(slash + 1);
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > BITS[family]) throw new Error('bad prefix length');
    const hostBits = BigInt(BITS[family] - prefix);
    const start = (toBigInt(addr.toByteArray()) >> hostBits) << hostBits;
    return { family, start, end: start + (1n << hostBits) - 1n };
  } catch (cause) {
    throw new InvalidCidrError('cidr', `"${cidr}" is not an IPv4 or IPv6 CIDR such as 10.0.0.0/16`, {
      cause,
    });
  }
}

/** One address as a one-address interval; an IPv4-mapped IPv6 address counts as IPv4. */
export function parseIp(ip: string): Interval {
  try {
    const addr = ip.includes(':') ? ipaddr.process(ip) : parseAddress(ip);
    const value = toBigInt(addr.toByteArray());
    return { family: addr.kind() === 'ipv4' ? 4 : 6, start: value, end: value };
  } catch (cause) {
    throw new InvalidCidrError('ip', `"${ip}" is not an IPv4 or IPv6 address`, { cause });
  }
}

function contains(outer: Interval, inner: Interval): boolean {
  return outer.family === inner.family && outer.start <= inner.start && inner.end <= outer.end;
}

/** `from` minus `cut`, as up to two intervals. */
function subtractOne(from: Interval, cut: Interval): Interval[] {
  if (from.family !== cut.family || cut.end < from.start || cut.start > from.end) return [from];
  const left = cut.start > from.start ? [{ ...from, end: cut.start - 1n }] : [];
  const right = cut.end < from.end ? [{ ...from, start: cut.end + 1n }] : [];
  return [...left, ...right];
}

function subtract(from: readonly Interval[], cuts: readonly Interval[]): Interval[] {
  return cuts.reduce<Interval[]>((rest, cut) => rest.flatMap((iv) => subtractOne(iv, cut)), [...from]);
}

/** Whether `ip` is in `cidr` and in none of `except`. */
export function blockAdmits(block: { cidr: string; except: readonly string[] }, ip: string): boolean {
  const addr = parseIp(ip);
  return contains(parseCidr(block.cidr), addr) && !block.except.some((e) => contains(parseCidr(e), addr));
}

const uncoveredOf = new TextMemo<readonly string[]>(4096);

/**
 * The part of `cidr` minus `except` that none of `allowed` covers, as a minimal list of CIDRs (empty when
 * the block lies wholly inside the allowed ones). Exact, whatever the shapes of the three lists.
 */
export function uncovered(cidr: string, except: readonly string[], allowed: readonly string[]): string[] {
  // Every App of a namespace asks this of the same policies with the same allowed ranges.
  const key = JSON.stringify([cidr, except, allowed]);
  const known = uncoveredOf.get(key);
  if (known) return [...known];
  const block = subtract([parseCidr(cidr)], except.map(parseCidr));
  const out = subtract(block, allowed.map(parseCidr)).flatMap(toCidrs);
  uncoveredOf.set(key, out);
  return [...out];
}

/** The largest aligned blocks that tile the interval, in order. */
export function toCidrs(iv: Interval): string[] {
  const bits = BITS[iv.family];
  const out: string[] = [];
  let start = iv.start;
  while (start <= iv.end) {
    let size = 0;
    while (
      size < bits &&
      ((start >> BigInt(size)) & 1n) === 0n &&
      start + (1n << BigInt(size + 1)) - 1n <= iv.end
    ) {
      size++;
    }
    out.push(`${fromBigInt(start, iv.family)}/${bits - size}`);
    start += 1n << BigInt(size);
  }
  return out;
}
