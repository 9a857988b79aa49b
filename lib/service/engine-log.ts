/**
 * The native engine's own log lines (libtorch's warnings, each distinct message once) as events
 * of the library's logger: JSON lines in the worker and serve, the CLI's logger in the CLI,
 * instead of raw text that libtorch would print on stderr between them.
 */
import type { Logger } from '../common/log.js';
import type { EngineLogCallback } from '../native/loader.js';

export function engineLogCallback(log: Logger): EngineLogCallback {
  return (level, message) => {
    const method = level === 'error' ? 'error' : level === 'info' ? 'info' : 'warn';
    log[method]({ event: 'torch.warning' }, message);
  };
}
