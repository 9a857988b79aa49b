/**
 * The platform worker cannot be scraped: it logs the figures `serve`'s GET /metrics would show
 * (lib/server/metrics.ts snapshot: plain numbers) as one line, `{event: "metrics", ...}`, every
 * HIGGS_METRICS_LOG_S seconds (default 60; 0 turns it off). The timer never keeps the process alive.
 */
import type { Metrics } from '../../server/metrics.js';
import type { WorkerLog } from './log.js';

export const DEFAULT_METRICS_LOG_S = 60;

/** HIGGS_METRICS_LOG_S in milliseconds: unset, the default; 0, off (null). */
export function metricsLogMs(env: NodeJS.ProcessEnv): number | null {
  const text = env.HIGGS_METRICS_LOG_S?.trim();
  if (text === undefined || text === '') return DEFAULT_METRICS_LOG_S * 1000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) throw new Error(`HIGGS_METRICS_LOG_S must be a number of seconds, 0 for none (got ${JSON.stringify(text)})`);
  return seconds === 0 ? null : Math.max(1, Math.round(seconds * 1000));
}

/** Logs a metrics line every `intervalMs`; returns the stop function (which logs nothing more). */
export function startMetricsLog(metrics: Metrics, log: WorkerLog, intervalMs: number): () => void {
  let stopped = false;
  const timer = setInterval(() => {
    void metrics
      .snapshot()
      .then((figures) => {
        if (!stopped) log.info(null, 'metrics', { event: 'metrics', ...figures });
      })
      .catch((error: unknown) => log.warn(null, `metrics: ${(error as Error).message}`));
  }, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
