/**
 * What a failed Hub request means to the person running `pull`: an unknown repository or
 * revision (E_INPUT), access refused (E_AUTH: set HF_TOKEN, accept the licence), or a failure
 * worth retrying (rate limits, server errors, a dropped connection: E_DOWNLOAD, retryable).
 * The Hub says which with its X-Error-Code header (RepoNotFound, RevisionNotFound,
 * EntryNotFound, GatedRepo); a mirror without it is judged by the status alone.
 */
import { HiggsError, type ErrorCode } from '../common/errors.js';

/** A HiggsError that says whether trying again may help. */
export class HubError extends HiggsError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** What was being fetched, for the message. */
export interface HubContext {
  endpoint: string;
  repo: string;
  revision?: string;
  /** A file of the repository (downloads). */
  path?: string;
  tokenSent: boolean;
}

export function statusError(response: Response, context: HubContext): HubError {
  const { status } = response;
  const hubCode = response.headers.get('x-error-code') ?? '';
  const where = `${context.repo} on ${context.endpoint}`;
  const token = context.tokenSent
    ? 'HF_TOKEN was sent: check that it is valid and that its account has accepted the model licence on the repository page'
    : 'set HF_TOKEN to a token of an account that has accepted the model licence on the repository page';
  if (hubCode === 'GatedRepo' || (status === 403 && hubCode === '')) {
    return new HubError('E_AUTH', `access to ${where} refused (HTTP ${status}, gated or private): ${token}`);
  }
  if (hubCode === 'RevisionNotFound') return new HubError('E_INPUT', `revision ${JSON.stringify(context.revision)} not found in ${where}`);
  if (hubCode === 'EntryNotFound') return new HubError('E_INPUT', `${context.path ?? 'a file'} not found in ${where}`);
  if (hubCode === 'RepoNotFound' || status === 404) {
    const what = context.path ? `${context.path} in ${where}` : `repository ${where}${context.revision ? ` (or its revision ${JSON.stringify(context.revision)})` : ''}`;
    const privately = status === 401 ? `; if it is private or gated, ${token}` : '';
    return new HubError(status === 401 ? 'E_AUTH' : 'E_INPUT', `${what} not found${privately}`);
  }
  if (status === 401 || status === 403) return new HubError('E_AUTH', `access to ${where} refused (HTTP ${status}): ${token}`);
  const retryable = status === 408 || status === 429 || status >= 500;
  return new HubError('E_DOWNLOAD', `HTTP ${status} from ${response.url || context.endpoint}${context.path ? ` for ${context.path}` : ''}`, retryable);
}

/** fetch itself failed: no connection, DNS, a reset. Always worth another try. */
export function networkError(error: unknown, context: HubContext): HubError {
  if (error instanceof HiggsError) return error instanceof HubError ? error : new HubError(error.code, error.message, false, { cause: error });
  if ((error as { name?: string } | null)?.name === 'AbortError') return new HubError('E_CANCELLED', 'the pull was interrupted', false, { cause: error });
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  const detail = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  const what = context.path ? `${context.path} of ${context.repo}` : context.repo;
  return new HubError('E_DOWNLOAD', `connection to ${context.endpoint} failed while fetching ${what}: ${detail}`, true, { cause: error });
}
