import type { ParleyClient } from '@parley/sdk';

/** Whether this browser can take pushes (a service worker and the Push API, on a secure origin). */
export const pushSupported = () => typeof navigator !== 'undefined' && 'serviceWorker' in navigator && typeof window !== 'undefined' && 'PushManager' in window && window.isSecureContext;

/**
 * Registers the service worker (web/public/sw.js) and this browser's push subscription with
 * the server, asking for permission first when `ask` (a click: browsers allow the prompt only
 * then). The server pushes only what no device of the user acknowledged in time.
 */
export async function enablePush(client: ParleyClient, ask: boolean): Promise<boolean> {
  if (!pushSupported()) return false;
  if (Notification.permission !== 'granted') {
    if (!ask || (await Notification.requestPermission()) !== 'granted') return false;
  }
  const registration = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  const key = await client.rest.vapidKey();
  const subscription =
    (await registration.pushManager.getSubscription()) ??
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64urlBytes(key) }));
  const json = subscription.toJSON();
  const added = await client.rest.addPushSubscription({
    kind: 'web',
    device_id: deviceId(),
    endpoint: json.endpoint!,
    keys: { p256dh: json.keys!.p256dh, auth: json.keys!.auth },
  });
  localStorage.setItem(SUBSCRIPTION_ID, String(added.id));
  return true;
}

/** The server's id of this browser's push subscription, to remove it when pushes are turned off. */
const SUBSCRIPTION_ID = 'parley.push-subscription';

/** Turns pushes off for this browser: the server forgets the device, the browser its subscription. Whether they are off. */
export async function disablePush(client: ParleyClient): Promise<boolean> {
  const id = Number(localStorage.getItem(SUBSCRIPTION_ID));
  if (id > 0) await client.rest.removePushSubscription(id);
  localStorage.removeItem(SUBSCRIPTION_ID);
  const registration = await navigator.serviceWorker.getRegistration('/sw.js');
  await (await registration?.pushManager.getSubscription())?.unsubscribe();
  return true;
}

/** This browser's id, kept across sessions (one push subscription per device). */
function deviceId(): string {
  let id = localStorage.getItem('parley.device');
  if (!id) localStorage.setItem('parley.device', (id = crypto.randomUUID()));
  return id;
}

function base64urlBytes(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
