/**
 * HTTP calls to the RunPod platform with the headers runpod-python 1.12 sends
 * (docs/runpod-protocol.md#headers) and its result-post retry policy
 * (docs/runpod-protocol.md#result-posting). Node 20's fetch is enough.
 */
import { arch, release, type } from 'node:os';
import { RUNPOD_SDK_VERSION } from '../env.js';

export interface PlatformResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface PlatformHttpOptions {
  apiKey: string;
  uaIntegration?: string | null;
  /** Waits before the 2nd and 3rd attempt of a result post (the SDK: about 2 s, then 3 s). */
  retryDelaysMs?: readonly number[];
}

/** Thrown for a non-2xx answer after the last attempt. */
export class PlatformHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'PlatformHttpError';
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export class PlatformHttp {
  private readonly base: Record<string, string>;
  private readonly retryDelaysMs: readonly number[];

  constructor(options: PlatformHttpOptions) {
    this.retryDelaysMs = options.retryDelaysMs ?? [2000, 3000];
    const ua = `RunPod-Python-SDK/${RUNPOD_SDK_VERSION} (${type()} ${release()}; ${arch()}) Language/Node.js ${process.versions.node}`;
    this.base = {
      // The raw key: the SDK sends no "Bearer " prefix.
      Authorization: options.apiKey,
      'Content-Type': 'application/json',
      'Accept-Encoding': 'gzip, deflate',
      'User-Agent': options.uaIntegration ? `${ua} ${options.uaIntegration}` : ua,
    };
  }

  /** A GET (job-take, job-stop) with the session headers; throws on network errors and timeouts. */
  async get(url: string, options: { signal?: AbortSignal; timeoutMs: number }): Promise<PlatformResponse> {
    const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
    const response = await fetch(url, { method: 'GET', headers: this.base, signal: AbortSignal.any(signals) });
    return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
  }

  /**
   * A job-done / job-stream / progress post. The body is JSON text although the content type says
   * form-encoded, plus a stray `charset` header: the SDK does exactly this and the platform
   * parses the raw body as JSON. Retried on 5xx and network errors, 3 attempts in all.
   * @throws PlatformHttpError or the network error of the last attempt.
   */
  async post(url: string, body: unknown, jobId: string): Promise<void> {
    const headers = {
      ...this.base,
      'Content-Type': 'application/x-www-form-urlencoded',
      charset: 'utf-8',
      'X-Request-ID': jobId,
    };
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt += 1) {
      let failure: unknown;
      try {
        const response = await fetch(url, { method: 'POST', headers, body: text, signal: AbortSignal.timeout(600_000) });
        const answer = await response.text();
        if (response.ok) return;
        failure = new PlatformHttpError(response.status, answer);
      } catch (error) {
        failure = error; // network error or timeout: retried too (the SDK does not)
      }
      // A 4xx is final (e.g. a result over the size limit); 5xx and network errors are retried.
      const final = failure instanceof PlatformHttpError && failure.status < 500;
      const delay = this.retryDelaysMs[attempt];
      if (final || delay === undefined) throw failure;
      await sleep(delay);
    }
  }
}
