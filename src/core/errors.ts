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
  api_key_not_found: 'not_found',
  /** An API key whose scopes do not cover the request (a `read` key writing). */
  api_key_scope: 'forbidden',
  incoming_webhook_not_found: 'not_found',
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

/**
 * Refinements of a code: the same refusal for a more precise reason. A client sees the code
 * (Parley's `code`, the error frames' `code`) and a text chosen by the reason; each dialect
 * words its reasons in its own table (`src/dialects/<name>/codes.ts`, docs/codes.md). The
 * core names the reason and gives its figures as parameters, never a sentence.
 */
export const ERROR_REASONS = {
  // accounts
  password_too_short: 'invalid_input',
  invalid_email: 'invalid_input',
  invalid_name: 'invalid_input',
  invite_ttl_out_of_range: 'invalid_input',
  login_throttled: 'rate_limited',
  api_key_scopes_required: 'invalid_input',
  metadata_not_object: 'invalid_input',
  metadata_too_large: 'invalid_input',
  metadata_too_deep: 'invalid_input',
  // friends
  befriend_self: 'cannot_chat_with_self',
  block_self: 'cannot_chat_with_self',
  friend_not_found: 'user_not_found',
  block_not_found: 'user_not_found',
  // conversations
  direct_needs_one_member: 'invalid_input',
  direct_needs_user_id: 'invalid_input',
  title_too_long: 'invalid_input',
  add_at_most: 'too_many_members',
  participant_not_found: 'user_not_found',
  public_channels_only: 'invalid_input',
  bad_directory_cursor: 'invalid_input',
  // messages
  files_required: 'invalid_input',
  system_message: 'invalid_message_type',
  upload_message_type: 'invalid_message_type',
  channel_post_forbidden: 'not_permitted',
  edit_own_only: 'not_message_sender',
  delete_own_only: 'not_message_sender',
  pin_forbidden: 'not_permitted',
  emoji_required: 'invalid_emoji',
  // files
  file_name_empty: 'invalid_file',
  file_name_too_long: 'invalid_file',
  file_name_not_unicode: 'invalid_file',
  file_name_control_characters: 'invalid_file',
  file_name_path: 'invalid_file',
  file_data_not_base64_url: 'invalid_file',
  file_data_empty: 'invalid_file',
  file_data_not_base64: 'invalid_file',
  file_empty: 'invalid_file',
  content_type_mismatch: 'invalid_file',
  extension_mismatch: 'invalid_file',
  polyglot_markup: 'invalid_file',
  polyglot_archive: 'invalid_file',
  polyglot_trailing_data: 'invalid_file',
  image_no_size: 'invalid_file',
  image_wrong_format: 'invalid_file',
  image_too_many_pixels: 'invalid_file',
  image_too_large_decoded: 'invalid_file',
  image_over_pixel_limit: 'invalid_file',
  image_timeout: 'invalid_file',
  image_damaged: 'invalid_file',
  audio_timeout: 'invalid_file',
  audio_no_duration: 'invalid_file',
  no_files_uploaded: 'invalid_file',
  not_multipart: 'invalid_file',
  malformed_multipart: 'invalid_file',
  bad_form_fields: 'invalid_input',
  one_file_field: 'invalid_input',
  no_file_part: 'invalid_input',
  file_url_unknown: 'invalid_input',
  file_link_expired: 'file_access_denied',
} as const satisfies Record<string, ErrorCode>;

export type ErrorReason = keyof typeof ERROR_REASONS;

/** The figures a text may show: `{max}` in a dialect's text is `params.max`. */
export type ErrorParams = Readonly<Record<string, string | number | readonly string[]>>;

export interface ErrorDetails {
  /** Which refinement of the code, when there is one. */
  readonly reason?: ErrorReason;
  readonly params?: ErrorParams;
  /** For `rate_limited`: when to try again. */
  readonly retryAfterMs?: number;
}

export class DomainError extends Error {
  readonly kind: ErrorKind;
  constructor(
    readonly code: ErrorCode,
    readonly details: ErrorDetails = {},
  ) {
    super(details.reason ? `${code}: ${details.reason}` : code);
    this.kind = ERROR_CODES[code];
    this.name = 'DomainError';
  }

  get reason(): ErrorReason | undefined {
    return this.details.reason;
  }

  get params(): ErrorParams {
    return this.details.params ?? {};
  }
}

/** A refusal for a reason: its code comes from ERROR_REASONS. */
export const refusal = (reason: ErrorReason, params?: ErrorParams, details: Omit<ErrorDetails, 'reason' | 'params'> = {}): DomainError =>
  new DomainError(ERROR_REASONS[reason], { ...details, reason, params });
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
