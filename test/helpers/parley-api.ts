// The types of Parley's own API (/api/parley) for the `api()` test helper, from the typed
// SDK's generated wire types: a call names its route, the route names its body. The other
// dialects' bodies are the API documents' (prose, no types): `DocumentBody`.
import type { ConversationNotificationSettingsOut, NotificationSettingsOut, PushSubscriptionOut, VapidKeyOut, BlockOut, ChangesOut, ConversationOut, DirectoryOut, ErrorOut, PinOut, RevisionsOut, SavedPageOut, SearchOut, ThreadOut, ThreadRepliesOut, UnreadOut, HistoryOut, InviteIssuedOut, InviteOut, MemberOut, MessageOut, PresenceOut, SessionOut, UploadOut, UserOut, MeOut, WebhookOut, WebhookCreatedOut, EventsOut, ApiKeyIssuedOut, ApiKeyOut, IncomingWebhookIssuedOut, IncomingWebhookOut } from '../../sdk/src/generated/wire.js';

/** A body of one of the five API documents' dialects (or of /healthz, /docs…): shaped by prose, checked by each test. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DocumentBody = any;

/** Nothing (204), as `api()` parses an empty body. */
type NoContent = null;
type Query = '' | `?${string}`;
type ByMethod<M extends string, Get, Other> = M extends 'GET' ? Get : Other;

/** What /api/parley answers to `M P` when it succeeds; `unknown` for a route not listed here yet. */
// Most specific first: `${string}` also matches slashes.
export type ParleyResult<M extends string, P extends string> =
  P extends `/api/parley/conversations/${string}/incoming-webhooks/${string}` ? NoContent
  : P extends `/api/parley/conversations/${string}/incoming-webhooks${Query}` ? ByMethod<M, IncomingWebhookOut[], IncomingWebhookIssuedOut>
  : P extends `/api/parley/hooks/${string}` ? MessageOut
  : P extends `/api/parley/conversations/${string}/participants/${string}` ? (M extends 'DELETE' ? NoContent : MemberOut)
  : P extends `/api/parley/conversations/${string}/participants${Query}` ? ByMethod<M, MemberOut[], MemberOut>
  : P extends `/api/parley/conversations/${string}/messages${Query}` ? ByMethod<M, HistoryOut, MessageOut>
  : P extends `/api/parley/conversations/${string}/changes${Query}` ? ChangesOut
  : P extends `/api/parley/conversations/${string}/read${Query}` ? { read_seq: number }
  : P extends `/api/parley/conversations/${string}/delivered${Query}` ? NoContent
  : P extends `/api/parley/conversations/${string}/notification-settings${Query}` ? ConversationNotificationSettingsOut
  : P extends `/api/parley/conversations/${string}/unread${Query}` ? UnreadOut
  : P extends `/api/parley/conversations/${string}/pins${Query}` ? PinOut[]
  : P extends `/api/parley/conversations${Query}` ? ByMethod<M, ConversationOut[], ConversationOut>
  : P extends `/api/parley/conversations/${string}` ? (M extends 'DELETE' ? NoContent : ConversationOut)
  : P extends `/api/parley/messages/${string}/thread/replies${Query}` ? ThreadRepliesOut
  : P extends `/api/parley/messages/${string}/thread${string}` ? ThreadOut
  : P extends `/api/parley/messages/${string}/revisions${Query}` ? RevisionsOut
  : P extends `/api/parley/messages/${string}/${'for-me' | 'pin' | 'saved'}${Query}` ? NoContent
  : P extends `/api/parley/messages/${string}` ? MessageOut
  : P extends `/api/parley/threads${Query}` ? ThreadOut[]
  : P extends `/api/parley/search${Query}` ? SearchOut
  : P extends `/api/parley/saved${Query}` ? SavedPageOut
  : P extends `/api/parley/auth/logout${Query}` ? NoContent
  : P extends `/api/parley/auth/${string}` ? SessionOut
  : P extends `/api/parley/me/notification-settings${Query}` ? NotificationSettingsOut
  : P extends `/api/parley/me${Query}` ? MeOut
  : P extends `/api/parley/push/vapid-key${Query}` ? VapidKeyOut
  : P extends `/api/parley/push/subscriptions/${string}` ? NoContent
  : P extends `/api/parley/push/subscriptions${Query}` ? PushSubscriptionOut
  : P extends `/api/parley/users${Query}` ? UserOut[]
  : P extends `/api/parley/presence${Query}` ? ByMethod<M, PresenceOut[], NoContent>
  : P extends `/api/parley/blocks${Query}` ? BlockOut[]
  : P extends `/api/parley/blocks/${string}` ? (M extends 'DELETE' ? NoContent : BlockOut)
  : P extends `/api/parley/invites${Query}` ? ByMethod<M, InviteOut[], InviteIssuedOut>
  : P extends `/api/parley/invites/${string}` ? NoContent
  : P extends `/api/parley/api-keys${Query}` ? ByMethod<M, ApiKeyOut[], ApiKeyIssuedOut>
  : P extends `/api/parley/api-keys/${string}` ? NoContent
  : P extends `/api/parley/files${Query}` ? UploadOut
  : P extends `/api/parley/channels/${string}/join${Query}` ? MemberOut
  : P extends `/api/parley/channels${Query}` ? DirectoryOut
  : P extends `/api/parley/webhooks${Query}` ? ByMethod<M, WebhookOut[], WebhookCreatedOut>
  : P extends `/api/parley/webhooks/${string}` ? (M extends 'DELETE' ? NoContent : WebhookOut)
  : P extends `/api/parley/events${Query}` ? EventsOut
  : P extends `/api/parley/email/unsubscribe${Query}` ? string
  : unknown;

/**
 * The body `api()` gives for `M P`: /api/parley's wire type, which a refusal replaces with
 * ErrorOut (read `detail` and `code` after checking the status); a document's body elsewhere.
 */
export type BodyOf<M extends string, P extends string> = P extends `/api/parley/${string}`
  ? ParleyResult<M, P> extends NoContent
    ? Partial<ErrorOut> | NoContent
    : ParleyResult<M, P> & Partial<ErrorOut>
  : DocumentBody;
