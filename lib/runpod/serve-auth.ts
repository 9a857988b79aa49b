/**
 * Access control for the local API server: an optional API key (`Authorization: Bearer KEY`, as
 * runpod-sdk sends it, or RunPod's raw `Authorization: KEY`) and a per-key token bucket.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './serve-http.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The caller's identity for rate limiting: the key when one is required (checked in constant
 * time), else the client address. Throws 401 for a missing or wrong key.
 */
export function authenticate(req: IncomingMessage, apiKey: string | undefined): string {
  if (!apiKey) return `addr:${req.socket.remoteAddress ?? 'unknown'}`;
  const header = req.headers.authorization ?? '';
  const given = header.replace(/^Bearer\s+/i, '').trim();
  if (!given || !timingSafeEqual(digest(given), digest(apiKey))) {
    throw new HttpError(401, 'authorization: missing or wrong API key (send "Authorization: Bearer KEY")', { 'www-authenticate': 'Bearer' });
  }
  return 'key';
}

/** Token buckets: `perMinute` requests of burst, refilled continuously at perMinute / 60 s. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number) {}

  /** Takes one token for `who`, or throws 429 with the seconds until the next one. */
  take(who: string, now = Date.now()): void {
    const rate = this.perMinute / 60_000;
    const bucket = this.buckets.get(who) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(who, bucket);
    if (this.buckets.size > 10_000) this.forgetFull(now); // addresses come and go
    if (bucket.tokens < 1) {
      const retryAfter = Math.ceil((1 - bucket.tokens) / rate / 1000);
      throw new HttpError(429, `rate limit: at most ${this.perMinute} requests a minute; retry in ${retryAfter} s`, { 'retry-after': String(retryAfter) });
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
