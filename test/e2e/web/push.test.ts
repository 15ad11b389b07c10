import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUser } from '../../helpers/clients.js';
import { sqlStoreOf } from '../../helpers/parley.js';
import { Device, PushService } from '../../notifications/support.js';
import { SKIP_BROWSER, screenshot, signedInPerson, until, useWebPage } from './support.js';

// The web client's pushes (issue 19) in Chromium: the page registers its service worker
// (/sw.js) for real; the bell turns this browser's push subscription on and off with the
// server. Headless Chromium has no push service of its own, so the page's PushManager hands out
// a subscription of a local fake push service (its endpoint and keys, made here); the server
// then pushes to that service like to any browser's. The service worker's push handler is
// driven through DevTools (ServiceWorker.deliverPushMessage) and shows the notification.

const service = new PushService();
beforeAll(() => service.start());
afterAll(() => service.close());

/** Replaces PushManager's subscribe/getSubscription with one subscription at `endpoint`, unsubscribable. */
const fakePushManager = (endpoint: string, p256dh: string, auth: string) => `(() => {
  let current = null;
  const make = () => ({
    endpoint: ${JSON.stringify(endpoint)},
    toJSON() { return { endpoint: this.endpoint, keys: { p256dh: ${JSON.stringify(p256dh)}, auth: ${JSON.stringify(auth)} } }; },
    async unsubscribe() { current = null; return true; },
  });
  PushManager.prototype.subscribe = async function () { return (current ??= make()); };
  PushManager.prototype.getSubscription = async function () { return current; };
})();`;

describe.skipIf(SKIP_BROWSER)('web pushes in the page', () => {
  const suite = useWebPage();

  it('registers the service worker; the bell turns the push subscription off and on; a push shows a notification', async () => {
    const { server, browser } = suite;
    const user = await newUser(server, { name: 'Pia' });
    const device = new Device();
    const endpoint = service.url + device.path;
    const person = await signedInPerson(browser, server.url, user.token, { permissions: ['notifications'] });
    await person.context.addInitScript(fakePushManager(endpoint, device.ecdh.getPublicKey('base64url'), device.auth.toString('base64url')));
    await person.page.reload();
    const page = person.page;
    const subscriptions = async () => (await sqlStoreOf(server).pushSubscriptions([user.user.id])).map((s) => s.endpoint);

    // Allowed already: pushes are on at start, the worker is registered and active.
    const bell = page.getByTestId('push-bell');
    await until(() => bell.getAttribute('aria-pressed')).toBe('true');
    expect(await bell.getAttribute('aria-label')).toBe('Turn off notifications');
    await until(() => page.evaluate("navigator.serviceWorker.getRegistration('/sw.js').then((r) => r?.active?.scriptURL)")).toBe(`${server.url}/sw.js`);
    await until(subscriptions).toEqual([endpoint]);
    await screenshot(page, 'push-01-bell-on');

    // Off: the server forgets this device; on again: it is back.
    await bell.click();
    await until(() => bell.getAttribute('aria-pressed')).toBe('false');
    await until(subscriptions).toEqual([]);
    await screenshot(page, 'push-02-bell-off');
    await page.reload();
    // Turned off stays off after a reload.
    await until(() => bell.getAttribute('aria-label')).toBe('Turn on notifications');
    expect(await subscriptions()).toEqual([]);
    await bell.click();
    await until(() => bell.getAttribute('aria-pressed')).toBe('true');
    await until(subscriptions).toEqual([endpoint]);

    // The worker shows a push as a notification, with the server's tag.
    const cdp = await person.context.newCDPSession(page);
    await cdp.send('ServiceWorker.enable');
    const registrationId = await new Promise<string>((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] }) => {
        const r = e.registrations.find((x) => !x.isDeleted && x.scopeURL.startsWith(server.url));
        if (r) resolve(r.registrationId);
      });
    });
    const push = { title: 'Ann in Launch', body: 'ship it', badge: 1, conversation_id: 7, message_id: 42, tag: 'conversation-7' };
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId, data: JSON.stringify(push) });
    await until(() => page.evaluate('navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.map((n) => [n.title, n.body, n.tag]))')).toEqual([['Ann in Launch', 'ship it', 'conversation-7']]);
    await screenshot(page, 'push-03-notification-shown');
    expect(person.errors).toEqual([]);
    await person.context.close();
  });
});
