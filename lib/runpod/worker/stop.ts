/**
 * The job-stop channel (docs/runpod-protocol.md#stop-channel, SDK >= 1.10): a long poll on the
 * take URL with `/job-stop/`; each listed job running here is aborted through its AbortSignal.
 */
import { sleep, type PlatformHttp } from './http.js';
import type { WorkerLog } from './log.js';

export interface StopTiming {
  takeTimeoutMs: number;
  rateLimitMs: number;
  /** Wait after a poll that named no job (the SDK: 1 s), and the first wait after an error. */
  stopIdleMs: number;
  /** Errors back off up to this (older platforms may answer 404 for /job-stop/). */
  maxBackoffMs: number;
}

/** The ids of a 200 answer `{"jobsToStop": [...]}`; non-strings are dropped. */
export function readStopList(body: string): string[] {
  const parsed = JSON.parse(body) as { jobsToStop?: unknown } | null;
  const ids = parsed && Array.isArray(parsed.jobsToStop) ? parsed.jobsToStop : [];
  return ids.filter((id): id is string => typeof id === 'string');
}

/** Polls until `signal` aborts; `cancel(id)` is called for every id the platform names. */
export async function runStopChannel(
  http: PlatformHttp,
  url: string,
  timing: StopTiming,
  log: WorkerLog,
  cancel: (id: string) => void,
  signal: AbortSignal,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let wait = timing.stopIdleMs;
    try {
      const response = await http.get(url, { signal, timeoutMs: timing.takeTimeoutMs });
      if (response.status === 429) {
        wait = timing.rateLimitMs;
      } else if (response.status === 200) {
        failures = 0;
        const ids = response.body.trim() === '' ? [] : readStopList(response.body);
        for (const id of ids) cancel(id);
        if (ids.length > 0) wait = 0;
      } else if (response.status === 204) {
        failures = 0;
      } else {
        throw new Error(`HTTP ${response.status}`);
      }
    } catch (error) {
      if (signal.aborted) return;
      failures += 1;
      wait = Math.min(timing.maxBackoffMs, timing.stopIdleMs * 2 ** (failures - 1));
      log.debug(null, `job-stop poll failed: ${(error as Error).message}`, { waitMs: wait });
    }
    if (wait > 0) await sleep(wait, signal);
  }
}
