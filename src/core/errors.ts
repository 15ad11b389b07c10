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
  // search
  /** SEARCH_INDEX=off: no index is written, so nothing can be searched. */
  search_disabled: 'forbidden',
  // webhooks
  webhook_not_found: 'not_found',
  // moderation (issue 20)
  report_not_found: 'not_found',
  /** The reporter reported this message already (once per reporter and message). */
  already_reported: 'conflict',
  /** Another moderator resolved the report first. */
  report_resolved: 'conflict',
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
const REASONS_BY_CODE = {
  invalid_input: [
    'password_too_short', 'invalid_email', 'invalid_name', 'invite_ttl_out_of_range',
    'direct_needs_one_member', 'direct_needs_user_id', 'title_too_long', 'public_channels_only', 'bad_directory_cursor',
    'files_required',
    'bad_form_fields', 'one_file_field', 'no_file_part', 'file_url_unknown',
    'webhook_url_invalid', 'webhook_url_private', 'webhook_event_type_unknown',
    'api_key_scopes_required', 'content_nul_character', 'metadata_not_object', 'metadata_too_large', 'metadata_too_deep',
    'moderation_reason_too_long', 'until_not_future', 'report_reason_required', 'report_own_message', 'bad_report_cursor',
  ],
  rate_limited: ['login_throttled', 'reports_throttled'],
  cannot_chat_with_self: ['befriend_self', 'block_self', 'sanction_self'],
  user_not_found: ['friend_not_found', 'block_not_found', 'participant_not_found'],
  too_many_members: ['add_at_most'],
  invalid_message_type: ['system_message', 'upload_message_type'],
  not_permitted: [
    'channel_post_forbidden', 'pin_forbidden', 'account_suspended', 'suspend_self', 'conversation_archived',
    'banned', 'user_banned', 'muted', 'admin_protected', 'moderators_only',
  ],
  not_message_sender: ['edit_own_only', 'delete_own_only'],
  invalid_emoji: ['emoji_required'],
  invalid_file: [
    'file_name_empty', 'file_name_too_long', 'file_name_not_unicode', 'file_name_control_characters', 'file_name_path',
    'file_data_not_base64_url', 'file_data_empty', 'file_data_not_base64', 'file_empty',
    'content_type_mismatch', 'extension_mismatch',
    'polyglot_markup', 'polyglot_archive', 'polyglot_trailing_data',
    'image_no_size', 'image_wrong_format', 'image_too_many_pixels', 'image_too_large_decoded', 'image_over_pixel_limit', 'image_timeout', 'image_damaged',
    'audio_timeout', 'audio_no_duration',
    'no_files_uploaded', 'not_multipart', 'malformed_multipart',
  ],
  file_access_denied: ['file_link_expired'],
} as const satisfies { readonly [C in ErrorCode]?: readonly string[] };

export type ErrorReason = (typeof REASONS_BY_CODE)[keyof typeof REASONS_BY_CODE][number];

/** Each reason with the code it refines (REASONS_BY_CODE read the other way). */
export const ERROR_REASONS = Object.fromEntries(
  Object.entries(REASONS_BY_CODE).flatMap(([code, reasons]) => reasons.map((reason) => [reason, code])),
) as Readonly<Record<ErrorReason, ErrorCode>>;

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
