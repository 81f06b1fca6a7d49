/**
 * The egress policy for endpoints users supply (log-forwarding targets…), against SSRF: an
 * endpoint is refused when its host name or any address it resolves to matches `deny`, or when
 * `allow` is not empty and neither matches it. Entries are CIDRs (`10.0.0.0/8`, `fd00::/8`), bare
 * addresses, host names, or `*.domain` for the domain's subdomains. Deny wins over allow.
 */
import { BlockList, isIP } from 'node:net';

export interface EgressRules {
  allow: readonly string[];
  deny: readonly string[];
}

/** What cx refuses unless told otherwise: loopback, link-local (cloud metadata services), unspecified. */
export const DEFAULT_EGRESS_DENY: readonly string[] = [
  '127.0.0.0/8',
  '::1/128',
  '0.0.0.0/8',
  '::/128',
  '169.254.0.0/16',
  'fe80::/10',
  '100.100.100.200/32',
  'fd00:ec2::254/128',
  'localhost',
  'metadata.google.internal',
];

export type EgressVerdict = { allowed: true } | { allowed: false; reason: string };

/** Resolves a host name to its addresses; empty when it does not resolve from here. */
export type Resolver = (host: string) => Promise<string[]>;

export class EgressPolicy {
  private readonly allowList: Matcher;
  private readonly denyList: Matcher;

  constructor(private readonly rules: EgressRules) {
    this.allowList = new Matcher(rules.allow, 'egress.allow');
    this.denyList = new Matcher(rules.deny, 'egress.deny');
  }

  /**
   * Judges a URL. Addresses the host resolves to are judged too, so that a name pointing at a
   * denied address is refused; a name that does not resolve from cx is judged by its name alone.
   */
  async check(url: string, resolve: Resolver): Promise<EgressVerdict> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { allowed: false, reason: 'is not a URL' };
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      return { allowed: false, reason: `scheme ${parsed.protocol} is not http or https` };
    if (parsed.username || parsed.password)
      return { allowed: false, reason: 'carries credentials in the URL; give them as settings instead' };
    const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const addresses = isIP(host) ? [host] : await resolve(host).catch(() => []);
    const subjects = [host, ...addresses.filter((a) => a !== host)];
    for (const subject of subjects) {
      const rule = this.denyList.match(subject);
      if (rule)
        return {
          allowed: false,
          reason: `${subject === host ? `host ${host}` : `${host} resolves to ${subject}, which`} matches egress.deny entry ${rule}`,
        };
    }
    if (this.rules.allow.length > 0 && !subjects.some((s) => this.allowList.match(s))) {
      return {
        allowed: false,
        reason: `host ${host}${addresses.length > 0 && !isIP(host) ? ` (${addresses.join(', ')})` : ''} matches no egress.allow entry`,
      };
    }
    return { allowed: true };
  }
}

/** One list of entries: CIDRs and addresses in a BlockList, names exact or by suffix. */
class Matcher {
  private readonly cidrs: Array<{ entry: string; list: BlockList }> = [];
  private readonly names: string[] = [];

  constructor(entries: readonly string[], setting: string) {
    for (const raw of entries) {
      const entry = raw.trim().toLowerCase();
      if (!entry) continue;
      const [address, prefix] = entry.split('/');
      const family = isIP(address ?? '');
      if (family !== 0) {
        const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
        if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128))
          throw new Error(`${setting} entry ${raw} has an invalid prefix length`);
        const list = new BlockList();
        list.addSubnet(address!, bits, family === 4 ? 'ipv4' : 'ipv6');
        this.cidrs.push({ entry, list });
      } else if (/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(entry)) {
        this.names.push(entry);
      } else {
        throw new Error(`${setting} entry ${raw} is neither a CIDR, an address nor a host name`);
      }
    }
  }

  match(raw: string): string | undefined {
    const subject = mappedIpv4(raw) ?? raw;
    const family = isIP(subject);
    if (family !== 0) return this.cidrs.find((c) => c.list.check(subject, family === 4 ? 'ipv4' : 'ipv6'))?.entry;
    return this.names.find((name) => (name.startsWith('*.') ? subject.endsWith(name.slice(1)) : subject === name));
  }
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:7f00:1` is 127.0.0.1), judged as IPv4. */
function mappedIpv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const high = parseInt(hex[1]!, 16);
  const low = parseInt(hex[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
