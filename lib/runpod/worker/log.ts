/**
 * Worker log lines (docs/runpod-protocol.md#logs): on the platform (RUNPOD_ENDPOINT_ID set) one JSON
 * object per line with `requestId` (the job id or null), `message` and `level`, so the console
 * attributes lines to requests; elsewhere the SDK's readable "INFO   | <jobId> | message".
 */
import { createLogger, type Logger, type LogLevel } from '../../common/log.js';

export interface WorkerLog {
  debug(requestId: string | null, message: string, fields?: Record<string, unknown>): void;
  info(requestId: string | null, message: string, fields?: Record<string, unknown>): void;
  warn(requestId: string | null, message: string, fields?: Record<string, unknown>): void;
  error(requestId: string | null, message: string, fields?: Record<string, unknown>): void;
}

/** RUNPOD_LOG_LEVEL names (or their index) -> pino levels; the SDK's NOTSET/TRACE are trace. */
export function runpodLevel(value: string | null): LogLevel | null {
  if (value === null) return null;
  const names = ['trace', 'trace', 'debug', 'info', 'warn', 'error'] as const;
  const byName: Record<string, LogLevel> = { NOTSET: 'trace', TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', WARNING: 'warn', ERROR: 'error' };
  const trimmed = value.trim();
  return byName[trimmed.toUpperCase()] ?? (/^\d$/.test(trimmed) ? (names[Number(trimmed)] ?? null) : null);
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };

export function createWorkerLog(options: { logger?: Logger; json: boolean; level: LogLevel; write?: (line: string) => void }): WorkerLog {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const destination = options.write ? { write: (line: string) => options.write!(line.trimEnd()) } : undefined;
  const logger = options.logger ?? (options.json ? createLogger({ level: options.level, destination }) : null);
  const emit = (level: Level) => (requestId: string | null, message: string, fields: Record<string, unknown> = {}) => {
    if (logger) return logger[level]({ requestId, ...fields }, message);
    if (ORDER[level]! < ORDER[options.level]!) return;
    const extra = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    const job = requestId === null ? '' : `${requestId} | `;
    write(`${level.toUpperCase().padEnd(6)} | ${job}${message}${extra}`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
