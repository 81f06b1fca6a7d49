/**
 * Address ranges in the seeds' syntax (`10.1.1.5-8,42.42.42.42`), IPv4 and IPv6: parsing with
 * errors that say which part is wrong, overlap checks, and walking the addresses in order without
 * materialising a range (an IPv6 /64 has 2^64 of them). Addresses are compared as BigInts.
 */
import ipaddr from 'ipaddr.js';

export type Family = 'ipv4' | 'ipv6';

/** An inclusive range of one family; `first <= last`. */
export interface AddressRange {
  family: Family;
  first: bigint;
  last: bigint;
  text: string;
}

export class RangeSyntaxError extends Error {
  constructor(
    readonly part: string,
    reason: string,
  ) {
    super(`"${part}" ${reason}`);
    this.name = 'RangeSyntaxError';
  }
}

function toBigInt(address: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return address.toByteArray().reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

/** The address as text (IPv6 in its shortest RFC 5952 form). */
export function formatAddress(family: Family, value: bigint): string {
  const bytes = family === 'ipv4' ? 4 : 16;
  const array: number[] = [];
  for (let i = bytes - 1; i >= 0; i -= 1) array.push(Number((value >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(array).toString();
}

/** Parses one address; `null` when it is not an IPv4 or IPv6 address. */
export function parseAddress(text: string): { family: Family; value: bigint } | null {
  const trimmed = text.trim();
  // ipaddr.js also takes IPv4 in short or octal forms (`10.1`, `010.0.0.1`): only dotted quads are addresses here.
  if (!trimmed.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(trimmed)) return null;
  if (!ipaddr.isValid(trimmed) || trimmed.includes('%')) return null;
  const address = ipaddr.parse(trimmed);
  return { family: address.kind(), value: toBigInt(address) };
}

/**
 * One part of a range list: `A` (one address), `A-B` (B a whole address, or for IPv4 the last
 * octet, for IPv6 the last group: `10.1.1.5-8`, `fd00::10-1f`), or a CIDR block `A/len`.
 */
export function parseRange(part: string): AddressRange {
  const text = part.trim();
  if (!text) throw new RangeSyntaxError(part, 'is empty');
  if (text.includes('/')) {
    if (!ipaddr.isValidCIDR(text)) throw new RangeSyntaxError(text, 'is not a CIDR block (address/prefix length)');
    const [network, length] = ipaddr.parseCIDR(text);
    const bits = network.kind() === 'ipv4' ? 32 : 128;
    const hostBits = BigInt(bits - length);
    const first = (toBigInt(network) >> hostBits) << hostBits;
    return { family: network.kind(), first, last: first + (1n << hostBits) - 1n, text };
  }
  const dash = text.indexOf('-');
  if (dash < 0) {
    const single = parseAddress(text);
    if (!single) throw new RangeSyntaxError(text, 'is not an IPv4 or IPv6 address');
    return { family: single.family, first: single.value, last: single.value, text };
  }
  const start = parseAddress(text.slice(0, dash));
  if (!start)
    throw new RangeSyntaxError(text, `starts with "${text.slice(0, dash)}", which is not an IPv4 or IPv6 address`);
  const endText = text.slice(dash + 1).trim();
  let end = parseAddress(endText);
  if (!end) {
    // A short end replaces the last octet (IPv4, decimal) or the last group (IPv6, hex).
    const short =
      start.family === 'ipv4'
        ? /^\d{1,3}$/.test(endText) && Number(endText) <= 255
        : /^[0-9a-fA-F]{1,4}$/.test(endText);
    if (!short)
      throw new RangeSyntaxError(
        text,
        `ends with "${endText}", which is neither an address nor ${start.family === 'ipv4' ? 'a last octet (0-255)' : 'a last group (hex)'}`,
      );
    const width = start.family === 'ipv4' ? 8n : 16n;
    const value = BigInt(start.family === 'ipv4' ? Number(endText) : parseInt(endText, 16));
    end = { family: start.family, value: ((start.value >> width) << width) | value };
  }
  if (end.family !== start.family) throw new RangeSyntaxError(text, 'mixes IPv4 and IPv6');
  if (end.value < start.value) throw new RangeSyntaxError(text, 'ends before it starts');
  return { family: start.family, first: start.value, last: end.value, text };
}

/** Parses a comma-separated range list; throws on a malformed part or two parts that overlap. */
export function parseRanges(list: string): AddressRange[] {
  const ranges = list.split(',').map(parseRange);
  const overlap = findOverlap(ranges, []);
  if (overlap) throw new RangeSyntaxError(list, `has overlapping parts: ${overlap[0].text} and ${overlap[1].text}`);
  return ranges;
}

/** A pair of ranges (one from `a`, one from `b`, or two of `a` when `b` is empty) that share an address. */
export function findOverlap(a: AddressRange[], b: AddressRange[]): [AddressRange, AddressRange] | undefined {
  const pairs =
    b.length > 0
      ? a.flatMap((x) => b.map((y) => [x, y] as [AddressRange, AddressRange]))
      : a.flatMap((x, i) => a.slice(i + 1).map((y) => [x, y] as [AddressRange, AddressRange]));
  return pairs.find(([x, y]) => x.family === y.family && x.first <= y.last && y.first <= x.last);
}

/** Whether `address` lies in one of the ranges. */
export function contains(ranges: AddressRange[], address: { family: Family; value: bigint }): boolean {
  return ranges.some((r) => r.family === address.family && r.first <= address.value && address.value <= r.last);
}

/** How many addresses the ranges hold. */
export function size(ranges: AddressRange[]): bigint {
  return ranges.reduce((n, r) => n + (r.last - r.first + 1n), 0n);
}

/**
 * The first address of the ranges (in their order) that `taken` does not hold, or undefined when
 * every address is taken. Walks at most `taken.size + 1` addresses past the ones skipped.
 */
export function firstFree(ranges: AddressRange[], taken: ReadonlySet<string>): string | undefined {
  for (const range of ranges) {
    for (let value = range.first; value <= range.last; value += 1n) {
      const text = formatAddress(range.family, value);
      if (!taken.has(text)) return text;
    }
  }
  return undefined;
}

/** Expands ranges into addresses, refusing more than `limit` (for VIP lists, which are small). */
export function expand(ranges: AddressRange[], limit: number): string[] {
  if (size(ranges) > BigInt(limit))
    throw new RangeSyntaxError(ranges.map((r) => r.text).join(','), `holds more than ${limit} addresses`);
  return ranges.flatMap((r) => {
    const out: string[] = [];
    for (let value = r.first; value <= r.last; value += 1n) out.push(formatAddress(r.family, value));
    return out;
  });
}
