/**
 * pino JSON logs in the shape RunPod's log view attributes to requests (reference/runpod.md 7.4):
 * one JSON object per line with `requestId`, `message` and an upper-case `level`. Secrets and
 * audio payloads never reach a log line: known fields are redacted and long strings are cut.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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

/** RunPod cuts messages over 4096 characters; keep every line well under that. */
const MAX_MESSAGE = 2000;

export function createLogger(options: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      messageKey: 'message',
      base: null, // no pid/hostname: RunPod adds its own context
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          // Cut over-long messages in the middle, as RunPod would, but sooner.
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
