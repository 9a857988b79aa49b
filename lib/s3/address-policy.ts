/**
 * Which addresses a job's own S3 endpoint (s3Config.endpointUrl) may reach. A job chooses where
 * its audio is PUT with a signature; without a policy it could aim the worker at loopback, the
 * private network or a cloud metadata service, and read open ports off COMPLETED vs refused.
 * Refused: "this network", loopback, private (RFC 1918, CGNAT), link-local (metadata at
 * 169.254.169.254), IETF-reserved, benchmarking, multicast and reserved IPv4; unspecified,
 * loopback, link-local, site-local, unique-local (AWS metadata fd00:ec2::254) and multicast IPv6,
 * and IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) of a refused one. The operator
 * may allow hosts by name in HIGGS_S3_ALLOWED_ENDPOINTS ("host" or "host:port", comma-separated).
 */
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
const REFUSED_IPV4 = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const;
for (const [network, prefix] of REFUSED_IPV4) {
  blocked.addSubnet(network, prefix, 'ipv4'); // IPv4-mapped IPv6 (::ffff:a.b.c.d) is matched too
  const [a, b, c, d] = network.split('.').map(Number) as [number, number, number, number];
  const hi = ((a << 8) | b).toString(16);
  const lo = ((c << 8) | d).toString(16);
  blocked.addSubnet(`64:ff9b::${hi}:${lo}`, 96 + prefix, 'ipv6'); // NAT64
  blocked.addSubnet(`2002:${hi}:${lo}::`, 16 + prefix, 'ipv6'); // 6to4
}
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and the old IPv4-compatible form
  ['fe80::', 10],
  ['fec0::', 10],
  ['fc00::', 7],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** True for an IP address a job's endpoint must not reach (see the module comment). */
export function isRefusedAddress(address: string): boolean {
  const bare = address.replace(/%.*$/, ''); // a zone index (fe80::1%eth0)
  const family = isIP(bare);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return blocked.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export interface AllowedEndpoint {
  host: string;
  /** Undefined: any port. */
  port?: number;
}

/**
 * HIGGS_S3_ALLOWED_ENDPOINTS: "minio.internal, 127.0.0.1:9000, [::1]:9000". Throws a plain Error
 * naming the entry that is not a host or host:port.
 */
export function parseAllowedEndpoints(raw: string | undefined): AllowedEndpoint[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      let url: URL;
      try {
        url = new URL(`http://${entry}`);
      } catch {
        throw new Error(`"${entry}" is not a host or host:port`);
      }
      if (url.pathname !== '/' || url.search || url.hash || url.username || url.password || `${url.host}` === '') {
        throw new Error(`"${entry}" is not a host or host:port`);
      }
      const port = /:(\d+)$/.test(entry) ? Number(url.port || 80) : undefined;
      return { host: bareHost(url.hostname), port };
    });
}

/** A URL hostname without IPv6 brackets, lower case. */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** The port a URL connects to. */
export function urlPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

export function isAllowedEndpoint(allowed: readonly AllowedEndpoint[], url: URL): boolean {
  const host = bareHost(url.hostname);
  const port = urlPort(url);
  return allowed.some((entry) => entry.host === host && (entry.port === undefined || entry.port === port));
}
