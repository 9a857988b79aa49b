/**
 * The native engine's own log lines as events of the library's logger: JSON lines in the worker
 * and serve, the CLI's logger in the CLI, instead of raw text on stderr. Warnings and errors are
 * libtorch's (each distinct message once: `torch.warning`); info lines are the engine's own
 * (`engine.log`: e.g. where int8 weights came from).
 */
import type { Logger } from '../common/log.js';
import type { EngineLogCallback } from '../native/loader.js';

export function engineLogCallback(log: Logger): EngineLogCallback {
  return (level, message) => {
    const method = level === 'error' ? 'error' : level === 'info' ? 'info' : 'warn';
    log[method]({ event: method === 'info' ? 'engine.log' : 'torch.warning' }, message);
  };
}
