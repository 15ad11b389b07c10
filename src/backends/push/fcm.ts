import { loadJose } from '../jose.js';
import type { PushMessage, PushOutcome, PushProvider, PushTarget } from '../../core/notifications/ports.js';
import { ACCEPTED, GONE, retryLater } from './retry-after.js';

/** The fields Parley reads from the service-account JSON file Google gives (FCM_SERVICE_ACCOUNT_FILE). */
export interface FcmServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  token_uri: string;
  private_key_id?: string;
}

export interface FcmOptions {
  account: FcmServiceAccount;
  /** FCM_BASE_URL: the FCM API's origin (a local fake in tests). */
  baseUrl?: string;
}

export const FCM_BASE_URL = 'https://fcm.googleapis.com';
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** An access token is renewed this long before Google says it expires, so none is sent stale. */
const TOKEN_MARGIN_MS = 60_000;
const ASSERTION_TTL_S = 3600;

export function parseFcmServiceAccount(json: string): FcmServiceAccount {
  const parsed = JSON.parse(json) as Partial<FcmServiceAccount>;
  for (const field of ['project_id', 'client_email', 'private_key', 'token_uri'] as const) {
    if (typeof parsed[field] !== 'string' || parsed[field] === '') throw new Error(`FCM service account file lacks ${field}`);
  }
  return parsed as FcmServiceAccount;
}

/**
 * Firebase Cloud Messaging, HTTP v1 API. Authenticates with the OAuth 2.0 service-account flow
 * (an RS256 assertion exchanged at the account's token_uri for an access token, kept until it
 * expires) and sends one message per target.
 */
export class FcmProvider implements PushProvider {
  readonly kind = 'fcm' as const;
  readonly #account: FcmServiceAccount;
  readonly #sendUrl: string;
  #token: { value: string; expiresAt: number } | null = null;
  /** One exchange at a time: concurrent sends wait for the same token. */
  #exchanging: Promise<string> | null = null;

  constructor(options: FcmOptions) {
    this.#account = options.account;
    const base = (options.baseUrl ?? FCM_BASE_URL).replace(/\/+$/, '');
    this.#sendUrl = `${base}/v1/projects/${encodeURIComponent(options.account.project_id)}/messages:send`;
  }

  async send(target: PushTarget, message: PushMessage): Promise<PushOutcome> {
    if (target.kind !== 'fcm') throw new Error(`FcmProvider cannot send to a ${target.kind} target`);
    let response: Response;
    try {
      const token = await this.#accessToken();
      response = await fetch(this.#sendUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(fcmBody(target.token, message)),
      });
    } catch {
      return retryLater(); // the network or the token exchange failed: nothing says the target is gone
    }
    const text = await response.text();
    if (response.ok) return ACCEPTED;
    const errorCode = fcmErrorCode(text);
    // 404 / UNREGISTERED: the app was uninstalled or the token expired. SENDER_ID_MISMATCH: the
    // token belongs to another project. INVALID_ARGUMENT: our body has a fixed shape, so the
    // token is what is invalid. None of them will ever succeed for this target.
    if (response.status === 404 || errorCode === 'UNREGISTERED' || errorCode === 'SENDER_ID_MISMATCH' || errorCode === 'INVALID_ARGUMENT') return GONE;
    // A rejected access token (revoked, clock skew): exchange a new one for the next try.
    if (response.status === 401) this.#token = null;
    return retryLater(response.headers.get('retry-after') ?? undefined);
  }

  async #accessToken(): Promise<string> {
    if (this.#token && this.#token.expiresAt - TOKEN_MARGIN_MS > Date.now()) return this.#token.value;
    this.#exchanging ??= this.#exchange().finally(() => (this.#exchanging = null));
    return this.#exchanging;
  }

  async #exchange(): Promise<string> {
    const account = this.#account;
    const { importPKCS8, SignJWT } = await loadJose();
    const key = await importPKCS8(account.private_key, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(account.private_key_id ? { kid: account.private_key_id } : {}) })
      .setIssuer(account.client_email)
      .setAudience(account.token_uri)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_TTL_S)
      .sign(key);
    const response = await fetch(account.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    });
    if (!response.ok) throw new Error(`FCM token exchange refused: ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { access_token?: string; expires_in?: number };
    if (typeof body.access_token !== 'string') throw new Error('FCM token exchange answered no access_token');
    this.#token = { value: body.access_token, expiresAt: Date.now() + (body.expires_in ?? ASSERTION_TTL_S) * 1000 };
    return body.access_token;
  }
}

/** The v1 `messages:send` body: a notification, the ids as a string map, the badge on both platforms. */
export function fcmBody(token: string, message: PushMessage): unknown {
  return {
    message: {
      token,
      notification: { title: message.title, body: message.body },
      data: {
        conversation_id: String(message.conversationId),
        ...(message.messageId === null ? {} : { message_id: String(message.messageId) }),
        tag: message.tag,
        badge: String(message.badge),
      },
      android: { collapse_key: message.tag, notification: { tag: message.tag, notification_count: message.badge } },
      apns: { headers: { 'apns-collapse-id': message.tag }, payload: { aps: { badge: message.badge } } },
    },
  };
}

function fcmErrorCode(text: string): string | undefined {
  try {
    const error = (JSON.parse(text) as { error?: { status?: string; details?: { errorCode?: string }[] } }).error;
    return error?.details?.find((d) => typeof d.errorCode === 'string')?.errorCode ?? error?.status;
  } catch {
    return undefined;
  }
}
