import { ERROR_REASONS, type DomainError, type ErrorCode, type ErrorParams, type ErrorReason } from '../../core/errors.js';

/** What a text is chosen by: a code, or a reason that refines one (core/errors.ts). */
export type TextKey = ErrorCode | ErrorReason;

/**
 * The words for a code or reason: a template whose `{name}` is the refusal's parameter
 * `name` (a list is joined with ", "), or a function for words that depend on a figure's
 * presence or shape, with `doc`, its form in docs/codes.md.
 */
export type Text = string | TextFunction;
export type TextFunction = ((params: ErrorParams) => string) & { readonly doc: string };

export type Texts = Partial<Record<TextKey, Text>>;

export const textFunction = (doc: string, render: (params: ErrorParams) => string): TextFunction => Object.assign(render, { doc });

const MB = 1024 * 1024;

/** "10.0MB": documents 000/001's wording (a Python `f"{size / (1024 * 1024)}MB"`). */
export function formatMb(bytes: number): string {
  const mb = bytes / MB;
  return Number.isInteger(mb) ? mb.toFixed(1) + 'MB' : `${mb}MB`;
}

const num = (p: ErrorParams, name: string): number | undefined => (typeof p[name] === 'number' ? (p[name] as number) : undefined);

/** Texts every dialect shares; a dialect's codes.ts overrides the ones its document words differently. */
export const DEFAULT_TEXTS: Record<TextKey, Text> = {
  not_authenticated: 'Not authenticated',
  invalid_credentials: 'Incorrect email or password',
  account_unavailable: 'Not authenticated',
  email_taken: 'Email already registered',
  registration_closed: 'Registration is closed',
  tenant_not_found: 'Tenant not found',
  user_not_found: 'User not found',
  invite_required: 'Registration into this tenant needs an invite',
  invite_invalid: 'Invalid or expired invite',
  invite_not_found: 'Invite not found',
  webhook_not_found: 'Webhook endpoint not found',
  report_not_found: 'Report not found',
  already_reported: 'You reported this message already',
  report_resolved: 'This report was resolved already',
  wrong_password: 'Current password is incorrect',
  origin_not_allowed: 'Origin not allowed',
  api_key_not_found: 'API key not found',
  api_key_scope: "This API key's scopes do not allow this request",
  incoming_webhook_not_found: 'Incoming webhook not found',
  conversation_not_found: 'Conversation not found',
  cannot_chat_with_self: 'You cannot start a chat with yourself',
  blocked: 'You cannot message this user',
  not_friends: 'You can only message your friends',
  not_permitted: 'You do not have permission to perform this action',
  last_admin: 'The last admin cannot leave; make someone else admin first',
  not_a_group: 'Direct conversations have fixed participants',
  conversation_full: 'This conversation has reached its member limit',
  too_many_members: 'Too many people added at once',
  not_addable: 'You cannot add this user',
  message_not_found: 'Message not found',
  reply_not_found: 'The message replied to is not in this conversation',
  not_message_sender: 'Only the sender can change this message',
  only_text_editable: 'Only text messages can be edited',
  message_deleted: 'Message has been deleted',
  empty_message: 'Message content is required',
  message_too_long: textFunction('Message too long. Maximum length: {max} characters', (p) =>
    num(p, 'max') === undefined ? 'Message too long' : `Message too long. Maximum length: ${num(p, 'max')} characters`,
  ),
  invalid_message_type: 'Invalid message type',
  invalid_emoji: 'Invalid emoji',
  receiver_mismatch: 'receiver_id is not the other participant of this room',
  file_too_large: textFunction('File too large. Maximum size: {max_bytes, as 10.0MB}', (p) =>
    num(p, 'max_bytes') === undefined ? 'File too large' : `File too large. Maximum size: ${formatMb(num(p, 'max_bytes')!)}`,
  ),
  file_type_not_allowed: textFunction('File type not allowed. Allowed types: {allowed}', (p) =>
    Array.isArray(p.allowed) ? `File type not allowed. Allowed types: ${(p.allowed as readonly string[]).join(', ')}` : 'File type not allowed',
  ),
  invalid_file: 'Invalid file',
  too_many_files: 'Too many files. Maximum {max} files per message',
  upload_not_found: 'Uploaded file not found: upload it again',
  upload_quota_exceeded: textFunction('Upload quota exceeded: at most {max_files} files and {max_bytes, as 200.0MB} may wait to be sent; send the files you uploaded first', (p) => {
    const files = num(p, 'max_files') ?? 0;
    const bytes = num(p, 'max_bytes') ?? 0;
    const size = bytes % MB === 0 ? formatMb(bytes) : `${bytes} bytes`;
    const bounds = [files > 0 ? `${files} files` : '', bytes > 0 ? size : ''].filter(Boolean).join(' and ');
    return bounds ? `Upload quota exceeded: at most ${bounds} may wait to be sent; send the files you uploaded first` : 'Upload quota exceeded: send the files you uploaded first';
  }),
  file_not_found: 'File not found',
  file_access_denied: 'Not allowed to access this file',
  rate_limited: 'Too many requests; slow down',
  search_disabled: 'Search is disabled on this server',
  invalid_input: 'Invalid input',

  // reasons
  password_too_short: 'Password must be at least {min} characters',
  invalid_email: 'Invalid email address',
  invalid_name: 'Name must be 1 to 255 characters',
  invite_ttl_out_of_range: 'ttl_seconds must be 1 to {max}',
  webhook_url_invalid: 'url must be an http or https URL',
  webhook_url_private: 'url must not point to a private or loopback address',
  webhook_event_type_unknown: 'Unknown event type {type}',
  api_key_scopes_required: 'scopes must name at least one of read, write, admin',
  content_nul_character: 'Message content cannot contain the NUL character (U+0000)',
  metadata_not_object: 'metadata must be a JSON object',
  metadata_too_large: 'metadata must be at most {max} bytes serialized',
  metadata_too_deep: 'metadata may nest at most {max} levels',
  login_throttled: 'Too many login attempts; try again later',
  befriend_self: 'You cannot befriend yourself',
  block_self: 'You cannot block yourself',
  friend_not_found: 'Friend not found',
  block_not_found: 'Block not found',
  direct_needs_one_member: 'A direct conversation has exactly one other participant',
  direct_needs_user_id: 'A direct conversation needs user_id',
  title_too_long: 'Title must be at most {max} characters',
  add_at_most: 'Add at most {max} people at a time',
  participant_not_found: 'Participant not found',
  public_channels_only: 'Only a channel can be public',
  bad_directory_cursor: 'cursor is not one this directory gave',
  files_required: 'A {kind} message needs at least one file',
  system_message: 'System messages are sent by Parley only',
  upload_message_type: 'message_type must be "image", "file" or "voice"',
  channel_post_forbidden: 'Only admins and moderators post or edit in a channel',
  edit_own_only: 'You can only edit your own messages',
  delete_own_only: 'You can only delete your own messages',
  pin_forbidden: 'Only admins and moderators pin in a group or channel',
  account_suspended: 'This account is suspended',
  suspend_self: 'You cannot suspend or erase your own account',
  conversation_archived: 'This conversation is archived: it is read-only',
  banned: 'You are banned from this conversation',
  user_banned: 'This person is banned from this conversation',
  muted: 'You are muted in this conversation',
  admin_protected: 'A moderator cannot ban or mute an admin',
  moderators_only: 'Only admins and moderators moderate a group or channel',
  moderation_reason_too_long: 'reason must be at most {max} characters',
  until_not_future: 'until must be in the future',
  report_reason_required: 'A report needs a reason',
  report_own_message: 'You cannot report your own message',
  bad_report_cursor: 'cursor is not one this queue gave',
  reports_throttled: 'Too many reports; try again later',
  sanction_self: 'You cannot ban or mute yourself',
  emoji_required: 'emoji is required',
  file_name_empty: 'Invalid file name: it is empty',
  file_name_too_long: 'Invalid file name: longer than {max} characters',
  file_name_not_unicode: 'Invalid file name: it is not valid Unicode',
  file_name_control_characters: 'Invalid file name: control characters are not allowed',
  file_name_path: 'Invalid file name: path separators and ".." are not allowed',
  file_data_not_base64_url: 'Invalid file_data: a data: URL must be base64',
  file_data_empty: 'Invalid file_data: it is empty',
  file_data_not_base64: 'Invalid file_data: not valid base64',
  file_empty: 'Invalid file: it is empty',
  content_type_mismatch: 'File content does not match its declared type: declared {declared}, found {found}',
  extension_mismatch: "File name extension .{extension} does not match the file's content ({found})",
  polyglot_markup: 'File rejected: it also contains HTML or script (a polyglot file)',
  polyglot_archive: 'File rejected: an archive is appended to it (a polyglot file)',
  polyglot_trailing_data: 'File rejected: it has data after its end (a polyglot file)',
  image_no_size: 'The image could not be decoded: it has no size',
  image_wrong_format: 'The image could not be decoded as {mime}',
  image_too_many_pixels: textFunction('The image could not be decoded: {width}×{height} pixels[ × {frames} frames] is more than {max} pixels', (p) => {
    const frames = num(p, 'frames') ?? 1;
    return `The image could not be decoded: ${p.width}×${p.height} pixels${frames > 1 ? ` × ${frames} frames` : ''} is more than ${p.max} pixels`;
  }),
  image_too_large_decoded: textFunction(
    'The image could not be decoded: {width}×{height} pixels of {channels} channels at {bits} bits take {decoded_bytes, in MiB} decoded, more than {max_bytes, in MiB}',
    (p) => {
      const mib = (n: number | undefined) => `${Math.ceil((n ?? 0) / MB)} MiB`;
      return `The image could not be decoded: ${p.width}×${p.height} pixels of ${p.channels} channels at ${p.bits} bits take ${mib(num(p, 'decoded_bytes'))} decoded, more than ${mib(num(p, 'max_bytes'))}`;
    },
  ),
  image_over_pixel_limit: 'The image could not be decoded: more than {max} pixels',
  image_timeout: 'The image could not be decoded: it takes longer than {seconds} s',
  image_damaged: 'The image could not be decoded: it is damaged or not what it claims to be',
  audio_timeout: 'The audio could not be decoded: measuring it takes longer than {seconds} s',
  audio_no_duration: 'The audio could not be decoded: its duration cannot be measured',
  no_files_uploaded: 'No files uploaded: send them as "files" parts',
  not_multipart: 'Send the files as multipart/form-data',
  malformed_multipart: 'Malformed multipart body: {error}',
  bad_form_fields: 'Too many or malformed form fields',
  one_file_field: 'Send one file in the field "file"',
  no_file_part: 'No file: send multipart/form-data with one or more `file` parts',
  file_url_unknown: 'file_url is not a file uploaded to this server',
  file_link_expired: 'File link expired',
};

/** A template's `{name}`s filled from the parameters; a function text renders itself. */
export function renderText(text: Text, params: ErrorParams = {}): string {
  if (typeof text === 'function') return text(params);
  return text.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const v = params[name];
    if (v === undefined) return whole;
    return Array.isArray(v) ? v.join(', ') : String(v);
  });
}

/** The text of a key in a dialect's table, else the shared one; a reason falls back to its code's. */
export function textOf(key: TextKey, texts: Texts = {}): Text {
  return texts[key] ?? DEFAULT_TEXTS[key];
}

/** The words a dialect uses for a domain error: its reason's text (else its code's), with the error's figures. */
export function errorText(e: DomainError, texts: Texts = {}): string {
  const key: TextKey = e.reason ?? e.code;
  return renderText(textOf(key, texts), e.params);
}

/** Every key a text can be chosen by: the codes, then the reasons. */
export const TEXT_KEYS: readonly TextKey[] = [...(Object.keys(DEFAULT_TEXTS) as TextKey[])];
export const reasonCode = (key: TextKey): ErrorCode | null => (key in ERROR_REASONS ? ERROR_REASONS[key as ErrorReason] : null);
