import { StoreError } from '../backends/store/store.js';

/**
 * Everything the core refuses, by kind. Dialects choose statuses and texts from the code;
 * the core never speaks HTTP.
 */
export type ErrorKind = 'invalid' | 'not_found' | 'forbidden' | 'conflict' | 'too_large' | 'rate_limited' | 'unauthenticated';

export const ERROR_CODES = {
  // accounts
  not_authenticated: 'unauthenticated',
  invalid_credentials: 'unauthenticated',
  /** A valid token whose user no longer exists. */
  account_unavailable: 'unauthenticated',
  email_taken: 'conflict',
  registration_closed: 'forbidden',
  tenant_not_found: 'not_found',
  user_not_found: 'not_found',
  /** Registration into an existing tenant (or, with an identity provider, any new one) without an invite. */
  invite_required: 'forbidden',
  /** Unknown, used, revoked or expired, for another tenant, or bound to another e-mail: one answer for all. */
  invite_invalid: 'forbidden',
  invite_not_found: 'not_found',
  /** A password change whose current password is not the account's. */
  wrong_password: 'invalid',
  /** A request from a browser page on an origin this server does not trust (login CSRF). */
  origin_not_allowed: 'forbidden',
  // conversations
  conversation_not_found: 'not_found',
  cannot_chat_with_self: 'invalid',
  blocked: 'forbidden',
  not_friends: 'forbidden',
  not_permitted: 'forbidden',
  last_admin: 'invalid',
  not_a_group: 'invalid',
  /** The conversation has MAX_CONVERSATION_MEMBERS participants already. */
  conversation_full: 'conflict',
  /** More people named in one create or add call than MAX_MEMBERS_PER_ADD. */
  too_many_members: 'invalid',
  /** The person to add has blocked the actor. */
  not_addable: 'forbidden',
  // messages
  message_not_found: 'not_found',
  reply_not_found: 'invalid',
  not_message_sender: 'forbidden',
  only_text_editable: 'invalid',
  message_deleted: 'invalid',
  empty_message: 'invalid',
  message_too_long: 'invalid',
  invalid_message_type: 'invalid',
  invalid_emoji: 'invalid',
  receiver_mismatch: 'invalid',
  // files
  file_too_large: 'too_large',
  file_type_not_allowed: 'invalid',
  invalid_file: 'invalid',
  too_many_files: 'invalid',
  upload_not_found: 'invalid',
  /** Over FILES_PENDING_QUOTA_*: too many uploaded files not yet sent. */
  upload_quota_exceeded: 'too_large',
  file_not_found: 'not_found',
  file_access_denied: 'forbidden',
  rate_limited: 'rate_limited',
  // generic
  invalid_input: 'invalid',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DomainError extends Error {
  readonly kind: ErrorKind;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    /** For `rate_limited`: when to try again. */
    readonly details: { retryAfterMs?: number } = {},
  ) {
    super(message ?? code);
    this.kind = ERROR_CODES[code];
    this.name = 'DomainError';
  }
}

/** A store's refusal (StoreError) as the core's own error of the same code; anything else as it is. */
export function fromStoreError(e: unknown): unknown {
  return e instanceof StoreError ? new DomainError(e.code) : e;
}

/** Awaits a store call whose refusals the caller reports as domain errors. */
export async function storeCall<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    throw fromStoreError(e);
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;
