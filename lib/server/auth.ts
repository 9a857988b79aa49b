/**
 * Access control for the local API server: an optional API key (`Authorization: Bearer KEY`, as
 * runpod-sdk sends it, or RunPod's raw `Authorization: KEY`), token buckets per caller, and a
 * bucket of failed attempts per client address, so that keys cannot be guessed at full speed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpError } from './http.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Wrong or missing keys allowed per client address and minute before 429. */
export const AUTH_FAILURES_PER_MINUTE = 10;

/**
 * The client a request counts against: every loopback address is this one host (127.0.0.2 is
 * not another client), an IPv4-mapped IPv6 address is its IPv4 address, and IPv6 clients count
 * per /64, the block one subscriber normally holds (so rotating addresses inside it does not
 * reset the limit).
 */
export function clientKey(remoteAddress: string | undefined): string {
  const address = (remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const family = isIP(address);
  if (family === 4) return address.startsWith('127.') ? 'loopback' : address;
  if (family === 6) {
    const groups = expandIpv6Groups(address);
    if (groups.every((g, i) => (i < 7 ? g === 0 : g === 1))) return 'loopback';
    return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
  }
  return 'unknown';
}

/** The eight groups of a valid IPv6 address (as isIP accepts it; a dotted tail counts two groups). */
function expandIpv6Groups(address: string): number[] {
  const text = address.replace(/%.*$/, '').replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

/**
 * The caller's identity for rate limiting: the key when one is required (checked in constant
 * time), else the client (clientKey). A missing or wrong key is 401, and 429 once the client
 * has failed AUTH_FAILURES_PER_MINUTE times in a minute.
 */
export function authenticate(req: IncomingMessage, apiKey: string | undefined, failures: RateLimiter): string {
  const client = clientKey(req.socket.remoteAddress);
  if (!apiKey) return `client:${client}`;
  if (!hasKey(req, apiKey)) {
    failures.take(client, Date.now(), 'failed authentication');
    throw new HttpError(401, 'authorization: missing or wrong API key (send "Authorization: Bearer KEY")', { 'www-authenticate': 'Bearer' });
  }
  return 'key';
}

/** True when the request carries the API key. */
export function hasKey(req: IncomingMessage, apiKey: string): boolean {
  const given = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '').trim();
  return given !== '' && timingSafeEqual(digest(given), digest(apiKey));
}

/** Token buckets: `perMinute` requests of burst, refilled continuously at perMinute / 60 s. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  /** Takes one token for `who`, or throws 429 with the seconds until the next one. */
  take(who: string, now = Date.now(), what = 'requests'): void {
    const rate = this.perMinute / 60_000;
    const bucket = this.buckets.get(who) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(who, bucket);
    if (this.buckets.size > 10_000) this.forgetFull(now); // addresses come and go
    if (bucket.tokens < 1) {
      const retryAfter = Math.ceil((1 - bucket.tokens) / rate / 1000);
      throw new HttpError(429, `rate limit: at most ${this.perMinute} ${what} a minute; retry in ${retryAfter} s`, { 'retry-after': String(retryAfter) });
    }
    bucket.tokens -= 1;
  }

  /** Buckets that have refilled carry no state worth keeping. */
  private forgetFull(now: number): void {
    for (const [who, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000 >= this.perMinute) this.buckets.delete(who);
    }
  }
}
