// CIDR arithmetic on address intervals (bigint), IPv4 and IPv6 kept apart. Used to decide whether an
// ipBlock, minus its `except`, lies inside a set of allowed CIDRs, and whether an address is admitted.
import ipaddr from 'ipaddr.js';
import { invalidCidr, invalidIp } from './errors.ts';

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

/** The addresses of `cidr` (host bits, as in `10.0.0.1/8`, are ignored like the apiserver's ParseCIDR). */
export function parseCidr(cidr: string): Interval {
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
    throw invalidCidr(cidr, cause);
  }
}

/** One address as a one-address interval; an IPv4-mapped IPv6 address counts as IPv4. */
export function parseIp(ip: string): Interval {
  try {
    const addr = ip.includes(':') ? ipaddr.process(ip) : parseAddress(ip);
    const value = toBigInt(addr.toByteArray());
    return { family: addr.kind() === 'ipv4' ? 4 : 6, start: value, end: value };
  } catch (cause) {
    throw invalidIp(ip, cause);
  }
}

export function contains(outer: Interval, inner: Interval): boolean {
  return outer.family === inner.family && outer.start <= inner.start && inner.end <= outer.end;
}

/** `from` minus `cut`, as up to two intervals. */
function subtractOne(from: Interval, cut: Interval): Interval[] {
  if (from.family !== cut.family || cut.end < from.start || cut.start > from.end) return [from];
  const left = cut.start > from.start ? [{ ...from, end: cut.start - 1n }] : [];
  const right = cut.end < from.end ? [{ ...from, start: cut.end + 1n }] : [];
  return [...left, ...right];
}

export function subtract(from: readonly Interval[], cuts: readonly Interval[]): Interval[] {
  return cuts.reduce<Interval[]>((rest, cut) => rest.flatMap((iv) => subtractOne(iv, cut)), [...from]);
}

/** Whether `ip` is in `cidr` and in none of `except`. */
export function blockAdmits(block: { cidr: string; except: readonly string[] }, ip: string): boolean {
  const addr = parseIp(ip);
  return contains(parseCidr(block.cidr), addr) && !block.except.some((e) => contains(parseCidr(e), addr));
}

/**
 * The part of `cidr` minus `except` that none of `allowed` covers, as a minimal list of CIDRs (empty when
 * the block lies wholly inside the allowed ones). Exact, whatever the shapes of the three lists.
 */
export function uncovered(cidr: string, except: readonly string[], allowed: readonly string[]): string[] {
  const block = subtract([parseCidr(cidr)], except.map(parseCidr));
  return subtract(block, allowed.map(parseCidr)).flatMap(toCidrs);
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
