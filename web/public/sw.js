// Parley's service worker (issue 19): shows the pushes the server sends when no device of
// this user acknowledged a message in time, and drops them when the conversation is read
// elsewhere (a push with the same tag and no message_id). The badge is the unread count.
self.addEventListener('push', (event) => {
  let push = {};
  try {
    push = event.data ? event.data.json() : {};
  } catch {
    push = {};
  }
  const badge = typeof push.badge === 'number' ? push.badge : 0;
  const setBadge = () =>
    'setAppBadge' in navigator ? (badge > 0 ? navigator.setAppBadge(badge) : navigator.clearAppBadge()).catch(() => {}) : Promise.resolve();
  const tag = push.tag || 'parley';
  if (push.message_id === null || push.message_id === undefined) {
    // Read on another device: close this conversation's notification.
    event.waitUntil(Promise.all([setBadge(), self.registration.getNotifications({ tag }).then((list) => list.forEach((n) => n.close()))]));
    return;
  }
  event.waitUntil(
    Promise.all([
      setBadge(),
      self.registration.showNotification(push.title || 'New message', {
        body: push.body || '',
        tag,
        renotify: true,
        data: { conversationId: push.conversation_id },
      }),
    ]),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = '/#/c/' + (event.notification.data && event.notification.data.conversationId);
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      for (const w of windows) if ('focus' in w) return w.focus();
      return self.clients.openWindow(url);
    }),
  );
});
