// The log levels (pino's names), apart from lib/common/log.ts so that reading the configuration
// does not load pino.
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
