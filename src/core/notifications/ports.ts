// What the notification service needs from the outside world: a way to push to a device
// (Web Push, FCM, APNs: src/backends/push/) and a way to send e-mail (src/backends/mail/).
// The core decides when and what to notify; these ports only carry it.
import type { Id } from '../model.js';

/** Where a device receives pushes: a Web Push subscription, an FCM registration token, an APNs device token. */
export type PushTarget =
  | { kind: 'web'; endpoint: string; p256dh: string; auth: string }
  | { kind: 'fcm'; token: string }
  | { kind: 'apns'; token: string };

/** What a push says. A content-free push carries no message text: the device fetches it. */
export interface PushMessage {
  title: string;
  body: string;
  /** The unread count the app badge shows (0 clears it). */
  badge: number;
  conversationId: Id;
  messageId: Id | null;
  /** A later push with the same tag replaces this one on the device (e.g. the "read" push that clears it). */
  tag: string;
}

/** One push's outcome: accepted by the provider; the target is gone for good (forget it); or try again later. */
/** `failure`: why a push that is to be retried did not reach the push service (logged). */
export type PushOutcome = { ok: true } | { ok: false; gone: true } | { ok: false; gone: false; retryAfterMs?: number; failure?: string };

/** One push service (PushTarget['kind']): Web Push, FCM HTTP v1 or APNs. */
export interface PushProvider {
  readonly kind: PushTarget['kind'];
  send(target: PushTarget, message: PushMessage): Promise<PushOutcome>;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
  headers?: Record<string, string>;
}

/** Sends one e-mail (SMTP in production: src/backends/mail/smtp-mailer.ts). Throws when the server refuses it. */
export interface Mailer {
  send(mail: MailMessage): Promise<void>;
}
