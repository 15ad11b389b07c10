import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { loadJose } from '../jose.js';
import type { PushMessage, PushOutcome, PushProvider, PushTarget } from '../../core/notifications/ports.js';
import { ACCEPTED, GONE, retryLater } from './retry-after.js';

export interface ApnsOptions {
  /** The .p8 token-signing key (PKCS #8 PEM, P-256). */
  keyPem: string;
  keyId: string;
  teamId: string;
  /** The app's bundle id. */
  topic: string;
  /** APNS_BASE_URL: production, sandbox, or a local fake (`http://` speaks HTTP/2 without TLS). */
  baseUrl?: string;
  /** How long APNs keeps trying to reach a device that is off (apns-expiration). */
  expirationSeconds?: number;
  /** Longest one request may take before it counts as failed (and is retried). */
  requestTimeoutMs?: number;
}

export const APNS_PRODUCTION_URL = 'https://api.push.apple.com';
/** Apple refuses a provider token older than an hour and one renewed more often than every 20 minutes. */
const TOKEN_REFRESH_MS = 50 * 60_000;
/** APNs' apns-collapse-id takes at most 64 bytes. */
const COLLAPSE_ID_MAX_BYTES = 64;
/** Reasons that say this device token will never be accepted for this app. */
const GONE_REASONS = new Set(['BadDeviceToken', 'Unregistered', 'DeviceTokenNotForTopic', 'ExpiredToken']);
/** Reasons that say our provider token was refused: sign a new one. */
const TOKEN_REASONS = new Set(['ExpiredProviderToken', 'InvalidProviderToken', 'MissingProviderToken']);

/**
 * Apple Push Notification service with token-based authentication: an ES256 JWT (`kid` the
 * key id, `iss` the team id) renewed every 50 minutes, over one HTTP/2 connection that is
 * opened again when it closes.
 */
export class ApnsProvider implements PushProvider {
  readonly kind = 'apns' as const;
  readonly #options: ApnsOptions & { baseUrl: string };
  #session: ClientHttp2Session | null = null;
  #token: Promise<{ value: string; signedAt: number }> | null = null;
  /** Requests in flight: the connection keeps the process up only while there are some. */
  #inFlight = 0;

  constructor(options: ApnsOptions) {
    this.#options = { ...options, baseUrl: (options.baseUrl ?? APNS_PRODUCTION_URL).replace(/\/+$/, '') };
  }

  async send(target: PushTarget, message: PushMessage): Promise<PushOutcome> {
    if (target.kind !== 'apns') throw new Error(`ApnsProvider cannot send to a ${target.kind} target`);
    let response: { status: number; headers: Record<string, string | string[] | undefined>; body: string };
    try {
      const token = await this.#providerToken();
      response = await this.#request(target.token, token, message);
    } catch {
      return retryLater(); // the connection failed: nothing says the device is gone
    }
    if (response.status === 200) return ACCEPTED;
    const reason = apnsReason(response.body);
    if (response.status === 410 || (reason !== undefined && GONE_REASONS.has(reason))) return GONE;
    if (response.status === 403 && reason !== undefined && TOKEN_REASONS.has(reason)) this.#token = null;
    return retryLater(response.headers['retry-after']);
  }

  /** Closes the HTTP/2 connection (sends in flight finish first). */
  close(): void {
    this.#session?.close();
    this.#session = null;
  }

  #providerToken(): Promise<string> {
    const current = this.#token;
    if (current) {
      return current.then(
        (t) => (Date.now() - t.signedAt < TOKEN_REFRESH_MS ? t.value : this.#sign()),
        () => this.#sign(),
      );
    }
    return this.#sign();
  }

  #sign(): Promise<string> {
    const { keyPem, keyId, teamId } = this.#options;
    const signing = (async () => {
      const { importPKCS8, SignJWT } = await loadJose();
      const key = await importPKCS8(keyPem, 'ES256');
      const signedAt = Date.now();
      const value = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: keyId }).setIssuer(teamId).setIssuedAt(Math.floor(signedAt / 1000)).sign(key);
      return { value, signedAt };
    })();
    this.#token = signing;
    return signing.then((t) => t.value);
  }

  #connection(): ClientHttp2Session {
    const live = this.#session;
    if (live && !live.closed && !live.destroyed) return live;
    const session = connect(this.#options.baseUrl);
    // A dropped or refused connection is reported on the request; the next send opens another.
    const forget = () => {
      if (this.#session === session) this.#session = null;
    };
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    session.unref(); // an idle connection does not keep the process up
    this.#session = session;
    return session;
  }

  #request(deviceToken: string, providerToken: string, message: PushMessage): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    const { topic, expirationSeconds = 86_400, requestTimeoutMs = 10_000 } = this.#options;
    const body = JSON.stringify(apnsPayload(message));
    return new Promise((resolve, reject) => {
      const session = this.#connection();
      if (this.#inFlight++ === 0) session.ref();
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: `/3/device/${encodeURIComponent(deviceToken)}`,
        authorization: `bearer ${providerToken}`,
        'apns-topic': topic,
        'apns-push-type': 'alert',
        'apns-priority': '10',
        'apns-expiration': String(Math.floor(Date.now() / 1000) + expirationSeconds),
        'apns-collapse-id': collapseId(message.tag),
        'content-type': 'application/json',
      });
      stream.setTimeout(requestTimeoutMs, () => stream.close(constants.NGHTTP2_CANCEL));
      let status = 0;
      let headers: Record<string, string | string[] | undefined> = {};
      let text = '';
      stream.setEncoding('utf8');
      stream.on('response', (h) => {
        status = Number(h[constants.HTTP2_HEADER_STATUS]);
        headers = h;
      });
      stream.on('data', (chunk: string) => (text += chunk));
      stream.on('end', () => resolve({ status, headers, body: text }));
      stream.on('error', reject);
      stream.on('close', () => {
        if (--this.#inFlight === 0) session.unref();
        if (status === 0) reject(new Error('APNs stream closed without a response'));
      });
      stream.end(body);
    });
  }
}

/** The body APNs shows: the alert, the badge, a sound; the ids beside `aps` for the app. */
export function apnsPayload(message: PushMessage): unknown {
  return {
    aps: { alert: { title: message.title, body: message.body }, badge: message.badge, sound: 'default', 'thread-id': String(message.conversationId) },
    conversation_id: message.conversationId,
    message_id: message.messageId,
  };
}

/** The tag as apns-collapse-id, cut to the 64 bytes APNs takes (at a character boundary). */
function collapseId(tag: string): string {
  let id = tag;
  while (Buffer.byteLength(id) > COLLAPSE_ID_MAX_BYTES) id = id.slice(0, -1);
  return id;
}

function apnsReason(text: string): string | undefined {
  try {
    const reason = (JSON.parse(text) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason : undefined;
  } catch {
    return undefined;
  }
}
