/**
 * Every failure the SDK reports: a REST error (status ≥ 400), a refused socket frame
 * (status 0, the error frame's code), or a transport failure (`network_error`).
 */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';
  constructor(
    /** The server's code (`empty_message`, `not_permitted`, …); see docs/codes.md. */
    readonly code: string,
    message: string,
    /** HTTP status (0: not an HTTP answer). */
    readonly status = 0,
    /** Milliseconds to wait before trying again (rate limits). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * The code of a REST error. The server's REST errors carry only `detail` (docs/codes.md),
 * so unless the body names a `code` it is derived from the status.
 */
export function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_input';
    case 401:
      return 'not_authenticated';
    case 403:
      return 'not_permitted';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'file_too_large';
    case 422:
      return 'invalid_input';
    case 429:
      return 'rate_limited';
    default:
      return status >= 500 ? 'server_error' : `http_${status}`;
  }
}
