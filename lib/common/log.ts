/**
 * The library's logs: pino, one JSON object per line with `message`, an upper-case `level`, an
 * ISO `time` and, per request, `requestId`, with no pid or hostname (a host adds its own). Every
 * mode writes this one shape; it is also what RunPod's log view reads (lib/runpod/worker/log.ts).
 * Secrets and audio payloads never reach a log line: known fields are redacted, and a message is
 * cut in the middle to stay a bounded line.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';
import type { LogLevel } from './log-levels.js';
export { LOG_LEVELS, type LogLevel } from './log-levels.js';

/** Fields that may carry credentials or audio; their values are replaced wherever they appear. */
const REDACTED_PATHS = [
  'base64',
  '*.base64',
  '*.*.base64',
  'audio',
  '*.audio',
  'authorization',
  '*.authorization',
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'accessKeyId',
  '*.accessKeyId',
  '*.*.accessKeyId',
  'sessionToken',
  '*.sessionToken',
  'apiKey',
  '*.apiKey',
];

/** Longest message kept whole (log views, RunPod's among them at 4096, cut long lines). */
const MAX_MESSAGE = 2000;

export function createLogger(options: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      messageKey: 'message',
      base: null, // no pid/hostname: the host adds its own context
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          // Cut over-long messages in the middle, keeping both ends.
          const last = args.length - 1;
          if (typeof args[last] === 'string' && (args[last] as string).length > MAX_MESSAGE) {
            const text = args[last] as string;
            args[last] = `${text.slice(0, MAX_MESSAGE / 2)} ... ${text.slice(-MAX_MESSAGE / 2)}`;
          }
          method.apply(this, args as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}
