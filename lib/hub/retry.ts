/**
 * Trying again after a dropped connection or a server error: a few attempts with exponential
 * backoff. Downloads count only attempts that made no progress (a long download may lose its
 * connection many times and still finish); metadata calls count every attempt.
 */
import { HiggsError } from '../common/errors.js';

export interface RetryPolicy {
  /** Tries after the first failure before giving up. */
  retries: number;
  /** The first wait; each further one doubles, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Five more tries over about half a minute (1, 2, 4, 8, 16 s). */
export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };

/** The wait before retry number `attempt` (1 = the first retry). */
export function retryDelay(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
}

/** Resolves after `ms`, or rejects with E_CANCELLED as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function cancelled(what = 'the pull'): HiggsError {
  return new HiggsError('E_CANCELLED', `${what} was interrupted`);
}

/** `run`, tried again while it throws an error with `retryable` set, at most policy.retries times. */
export async function withRetries<T>(
  run: () => Promise<T>,
  policy: RetryPolicy,
  options: { signal?: AbortSignal; onRetry?: (attempt: number, delayMs: number, error: unknown) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      const retryable = (error as { retryable?: unknown } | null)?.retryable === true;
      if (!retryable || attempt > policy.retries || options.signal?.aborted) throw error;
      const delay = retryDelay(attempt, policy);
      options.onRetry?.(attempt, delay, error);
      await sleep(delay, options.signal);
    }
  }
}
