import type { NotificationSetting } from '../../backends/store/store.js';
import type { NotifyContent } from '../../core/model.js';
import type { PushTarget } from '../../core/notifications/ports.js';
import { example } from '../../http/api-docs.js';
import type { DialectContext, DialectScope } from '../dialect.js';
import { docs, errors, none } from './routes.js';
import {
  ConversationNotificationSettingsBody,
  ConversationNotificationSettingsOut,
  ConversationParams,
  NotificationSettingsBody,
  NotificationSettingsOut,
  PushSubscriptionBody,
  PushSubscriptionOut,
  PushSubscriptionParams,
  TenantNotifyContentBody,
  TenantNotifyContentOut,
  VapidKeyOut,
} from './schemas.js';

const render = (s: NotificationSetting) => ({ level: s.level, mute_until: s.muteUntil > 0 ? new Date(s.muteUntil).toISOString() : null });
/** My own settings: without a level of my own, the default. */
const renderOwn = (s: NotificationSetting) => ({ ...render(s), level: s.level ?? 'mentions' });
/** A change: what the body leaves out stays as it was. */
const changed = (was: NotificationSetting, body: { level?: NotificationSetting['level']; mute_until?: string | null }): NotificationSetting => ({
  level: body.level === undefined ? was.level : body.level,
  muteUntil: body.mute_until === undefined ? was.muteUntil : body.mute_until === null ? 0 : Date.parse(body.mute_until),
});

/** Push notifications (issue 19): settings, the VAPID key, and each device's push subscription. */
export function notificationRoutes(ctx: DialectContext, authed: DialectScope) {
  const { notifications } = ctx.core;
  authed.get('/me/notification-settings', { schema: {
    ...docs('getNotificationSettings', 'My notification settings', 'When I get a push for a message no device of mine acknowledged in time: level (default mentions) and mute_until, for every conversation unless one says otherwise.'),
    response: { 200: example(NotificationSettingsOut, 'My settings', { level: 'mentions', mute_until: null }), ...errors },
  } }, async (req) => renderOwn(await notifications.setting(req.user, null)));
  authed.put('/me/notification-settings', { schema: {
    ...docs('setNotificationSettings', 'Change my notification settings', 'Sets level and/or mute_until (null unmutes); what is left out stays.'),
    body: example(NotificationSettingsBody, 'The change', { level: 'all' }, { mute_until: '2024-01-01T18:00:00.000Z' }),
    response: { 200: example(NotificationSettingsOut, 'My settings now', { level: 'all', mute_until: null }), ...errors },
  } }, async (req) => renderOwn(await notifications.setSetting(req.user, null, changed(await notifications.setting(req.user, null), req.body))));
  authed.get('/conversations/:id/notification-settings', { schema: {
    ...docs('getConversationNotificationSettings', "A conversation's notification settings", 'My settings for this conversation; level null follows my own settings.'),
    params: ConversationParams,
    response: { 200: example(ConversationNotificationSettingsOut, 'Its settings', { level: null, mute_until: null }), ...errors },
  } }, async (req) => render(await notifications.setting(req.user, req.params.id)));
  authed.put('/conversations/:id/notification-settings', { schema: {
    ...docs('setConversationNotificationSettings', "Change a conversation's notification settings", 'Sets level (null: as my own settings) and/or mute_until for this conversation; what is left out stays.'),
    params: ConversationParams,
    body: example(ConversationNotificationSettingsBody, 'The change', { level: 'none' }, { mute_until: '2024-01-01T18:00:00.000Z' }),
    response: { 200: example(ConversationNotificationSettingsOut, 'Its settings now', { level: 'none', mute_until: null }), ...errors },
  } }, async (req) => render(await notifications.setSetting(req.user, req.params.id, changed(await notifications.setting(req.user, req.params.id), req.body))));

  const renderContent = (c: { tenant: NotifyContent | null; inForce: NotifyContent }) => ({ content: c.tenant, in_force: c.inForce });
  authed.get('/tenant/notify-content', { schema: {
    ...docs('getTenantNotifyContent', "The tenant's notification content", 'Tenant admins: whether pushes and e-mails of this tenant say who wrote what (full) or only "New message" (none); content null follows the server\'s default.'),
    response: { 200: example(TenantNotifyContentOut, 'The server default in force', { content: null, in_force: 'full' }), ...errors },
  } }, async (req) => renderContent(await notifications.tenantContent(req.user)));
  authed.put('/tenant/notify-content', { schema: {
    ...docs('setTenantNotifyContent', "Change the tenant's notification content", 'Tenant admins: content none makes every push and e-mail of the tenant content-free ("New message"; the device fetches the rest); null goes back to the server\'s default.'),
    body: example(TenantNotifyContentBody, 'Content-free', { content: 'none' }, { content: null }),
    response: { 200: example(TenantNotifyContentOut, 'Now content-free', { content: 'none', in_force: 'none' }), ...errors },
  } }, async (req) => renderContent(await notifications.setTenantContent(req.user, req.body.content, `api ${req.ip}`)));

  authed.get('/push/vapid-key', { schema: {
    ...docs('getVapidKey', 'The Web Push key', "The server's VAPID public key, for PushManager.subscribe({ applicationServerKey })."),
    response: { 200: example(VapidKeyOut, 'The key', { public_key: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM' }), ...errors },
  } }, async () => ({ public_key: ctx.config.notify.vapidPublicKey }));
  authed.post('/push/subscriptions', { schema: {
    ...docs('addPushSubscription', 'Register a device for pushes', 'A Web Push subscription (endpoint and keys, as PushSubscription.toJSON() gives them) or an FCM/APNs token. One endpoint is one device: registering it again (for another user too) replaces it.'),
    body: example(PushSubscriptionBody, 'A browser', { kind: 'web', device_id: 'd-1', endpoint: 'https://push.example.net/send/abc', keys: { p256dh: 'BExamplePublicKey', auth: 'ExampleAuth' } }, { kind: 'fcm', device_id: 'phone', token: 'fcm-registration-token' }),
    response: { 201: example(PushSubscriptionOut, 'Registered', { id: 3, kind: 'web', device_id: 'd-1' }), ...errors },
  } }, async (req, reply) => {
    const b = req.body;
    const target: PushTarget = b.kind === 'web' ? { kind: 'web', endpoint: b.endpoint, p256dh: b.keys.p256dh, auth: b.keys.auth } : { kind: b.kind, token: b.token };
    const s = await notifications.subscribe(req.user, target, b.device_id ?? (b.kind === 'web' ? b.endpoint : b.token).slice(-128));
    return reply.code(201).send({ id: s.id, kind: s.kind, device_id: s.deviceId });
  });
  authed.delete('/push/subscriptions/:id', { schema: {
    ...docs('removePushSubscription', 'Unregister a device', 'This device gets no more pushes (also when it was gone already).', { ...none('Unregistered'), ...errors }),
    params: PushSubscriptionParams,
  } }, async (req, reply) => {
    await notifications.unsubscribe(req.user, req.params.id);
    return reply.code(204).send();
  });
}
