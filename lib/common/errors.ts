/** The native core's codes (its addon exports the same list as `constants.errorCodes`). */
export const CORE_ERROR_CODES = ['E_INPUT', 'E_MODEL_FORMAT', 'E_NOT_LOADED', 'E_CANCELLED', 'E_OOM', 'E_INTERNAL'] as const;

/**
 * The library's own: a full admission queue, an addon that cannot be loaded, `pull`'s failures
 * (the Hub refused access, a download failed or did not verify, the disk is full) and a
 * `setup` that could not make the addon.
 */
export const LIBRARY_ERROR_CODES = ['E_BUSY', 'E_NATIVE_MISSING', 'E_AUTH', 'E_DOWNLOAD', 'E_DISK_FULL', 'E_SETUP'] as const;

/** Every stable error code, shared by the native core, the library and the RunPod worker (docs/architecture.md#error-codes). */
export const ERROR_CODES = [...CORE_ERROR_CODES, ...LIBRARY_ERROR_CODES] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An Error with a stable `code`; native errors arrive as plain Errors carrying the same field. */
export class HiggsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HiggsError';
    this.code = code;
  }
}

/** The `code` of an error from the native core or the library, or E_INTERNAL. */
export function errorCode(error: unknown): ErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)
    ? (code as ErrorCode)
    : 'E_INTERNAL';
}
