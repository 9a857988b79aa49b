/**
 * Errors of the /v1 routes in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`,
 * which OpenAI's client libraries read: 400 a bad field (named in `param`), 401 the API key, 413
 * a body too large, 403 a read-only voices directory, 429 with Retry-After (E_BUSY and the rate
 * limit), 503 while the model loads, 500 with no stack. `code` is this library's stable code (E_INPUT, E_BUSY, ...).
 */
import { HiggsError, errorCode } from '../common/errors.js';
import { HttpError } from './http.js';
import { VoicesReadOnlyError } from '../voices/presets.js';

export interface OpenAiErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: { error: { message: string; type: string; param: string | null; code: string | null } };
}

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'server_error',
};

/** This library's field names in OpenAI's words (the request was translated from them). */
const PARAMS: Record<string, string> = { transcript: 'input', scene_prompt: 'instructions', output_format: 'response_format' };

/** The field an E_INPUT message names: `invalid request: field.path: ...`, or a voice. */
function paramOf(message: string): string | null {
  const field = /^invalid request: ([A-Za-z_][\w.[\]]*):/.exec(message)?.[1];
  if (field) return PARAMS[field.split('.')[0]!] ?? field;
  return /\bvoice\b/.test(message) ? 'voice' : null;
}

function statusOf(code: string): number {
  switch (code) {
    case 'E_INPUT':
      return 400;
    case 'E_BUSY':
      return 429;
    case 'E_NOT_LOADED':
      return 503;
    default:
      return 500;
  }
}

export function openAiError(error: unknown): OpenAiErrorAnswer {
  const answer = (status: number, message: string, code: string | null, param: string | null, headers: Record<string, string> = {}) => ({
    status,
    headers,
    body: { error: { message, type: TYPES[status] ?? 'server_error', param, code } },
  });
  if (error instanceof VoicesReadOnlyError) return answer(403, error.message, error.code, null);
  if (error instanceof HttpError) {
    return answer(error.status, error.message, error.code ?? null, null, error.headers);
  }
  if (error instanceof HiggsError || errorCode(error) !== 'E_INTERNAL') {
    const code = errorCode(error);
    const status = statusOf(code);
    const message = (error as Error).message;
    const retry: Record<string, string> = status === 429 || status === 503 ? { 'retry-after': '5' } : {};
    // Internal failures keep their message (no stack); E_INPUT names the field.
    return answer(status, message, code, status === 400 ? paramOf(message) : null, retry);
  }
  return answer(500, `internal: ${(error as Error)?.message ?? String(error)}`, 'E_INTERNAL', null);
}
