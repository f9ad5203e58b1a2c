import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { buildConnector } from 'undici';
import { HashsendError, invalidRequest } from '../errors.js';

/**
 * Addresses a media URL may not reach unless the operator lists them in MEDIA_ALLOW_HOSTS: the machine itself,
 * its private networks and the cloud metadata endpoints that live on link-local addresses.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['::', 96], // IPv4-compatible (`::127.0.0.1`), deprecated; some stacks still route it to the IPv4 address
  ['100::', 64], // discard-only
  ['64:ff9b::', 96], // NAT64 can reach any IPv4, private ones included
  ['64:ff9b:1::', 48], // local-use NAT64, the same
  ['fec0::', 10], // site-local, deprecated but still routed by some networks
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail split in two). */
const groupsOf = (address: string): number[] | undefined => {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const part = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const [h, t] = [part(head), part(tail)];
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
};

const dottedOf = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
 * (`::ffff:0:a.b.c.d`) or 6to4 (`2002:AABB:CCDD::/48`, whose relay forwards to AABBCCDD). Such an address is
 * judged by its IPv4 address, so `[2002:7f00:1::]` is loopback.
 */
const embeddedIPv4 = (address: string): string | undefined => {
  const g = groupsOf(address);
  if (!g) return undefined;
  if (g.slice(0, 4).every((x) => x === 0) && ((g[4] === 0 && g[5] === 0xffff) || (g[4] === 0xffff && g[5] === 0)))
    return dottedOf(g[6], g[7]);
  if (g[0] === 0x2002) return dottedOf(g[1], g[2]);
  return undefined;
};

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

export interface SsrfGuardOptions {
  /** Hostnames, IP addresses and CIDRs that may be reached although they are private (MEDIA_ALLOW_HOSTS). */
  allowHosts: readonly string[];
  /** The setting a refusal tells the operator to list the host in. @default MEDIA_ALLOW_HOSTS */
  setting?: string;
}

export interface SsrfGuard {
  /** Parses a media URL: `invalid_request` unless it is http(s). Does not resolve it. */
  parse(url: string): URL;
  /** The addresses of `hostname` that may be reached, in resolver order; `blocked_url` when none. */
  resolve(hostname: string): Promise<string[]>;
  /** An undici connector that resolves and checks each host at connect time, so DNS rebinding and every
   * redirect hop are covered, and connects to the address it checked. */
  connector(options: buildConnector.BuildOptions): buildConnector.connector;
}

export const createSsrfGuard = ({ allowHosts, setting = 'MEDIA_ALLOW_HOSTS' }: SsrfGuardOptions): SsrfGuard => {
  const allowedNames = new Set<string>();
  const allowed = new BlockList();
  for (const entry of allowHosts.map((h) => h.trim().toLowerCase()).filter(Boolean)) {
    const [address, prefix] = entry.replace(/^\[|\]$/g, '').split('/');
    if (isIP(address) && prefix !== undefined) allowed.addSubnet(address, Number(prefix), familyOf(address));
    else if (isIP(address)) allowed.addAddress(address, familyOf(address));
    else allowedNames.add(entry);
  }

  const isAllowed = (address: string): boolean => {
    const family = familyOf(address);
    if (allowed.check(address, family)) return true;
    const v4 = embeddedIPv4(address);
    if (v4) return isAllowed(v4);
    return !blocked.check(address, family);
  };

  const refuse = (hostname: string, addresses: string[]) =>
    new HashsendError(
      'blocked_url',
      400,
      `${hostname} is or resolves to a private, loopback or link-local address (${addresses.join(', ')}); ` +
        `list it in ${setting} to allow it`,
      { host: hostname, addresses },
    );

  const resolve = async (rawHostname: string): Promise<string[]> => {
    const hostname = rawHostname.replace(/^\[|\]$/g, '').toLowerCase();
    if (allowedNames.has(hostname)) return addressesOf(hostname);
    const addresses = isIP(hostname) ? [hostname] : await addressesOf(hostname);
    // Only permitted addresses are returned, and the connector dials one of them: a resolver answer that
    // mixes public and private addresses cannot steer the connection to the private one.
    const permitted = addresses.filter(isAllowed);
    if (permitted.length === 0) throw refuse(hostname, addresses);
    return permitted;
  };

  const parse = (url: string): URL => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalidRequest(`not a URL: ${JSON.stringify(url)}`, { url });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw invalidRequest(`only http and https URLs can be fetched, got ${parsed.protocol}`, { url });
    }
    // Credentials in a URL would be kept in media records, error details and logs: refuse them, and never echo them.
    if (parsed.username || parsed.password) {
      throw invalidRequest('media URLs may not carry a user name or password; serve the file from a URL that needs none, or upload it');
    }
    return parsed;
  };

  const connector = (options: buildConnector.BuildOptions): buildConnector.connector => {
    const connect = buildConnector(options);
    return (opts, callback) => {
      resolve(opts.hostname).then(
        ([address]) => connect({ ...opts, hostname: address }, callback),
        (err: unknown) => callback(err as Error, null),
      );
    };
  };

  return { parse, resolve, connector };
};

const addressesOf = async (hostname: string): Promise<string[]> => {
  try {
    return (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
  } catch (err) {
    throw new HashsendError('fetch_failed', 502, `cannot resolve ${hostname}`, { host: hostname }, { cause: err });
  }
};
