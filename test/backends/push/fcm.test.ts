import { afterEach, describe, expect, it } from 'vitest';
import { FcmProvider, parseFcmServiceAccount } from '../../../src/backends/push/fcm.js';
import { retryAfterMs } from '../../../src/backends/push/retry-after.js';
import { startFakeFcm, tokenFor, type FakeFcm } from '../../helpers/push-fakes.js';
import { pushMessage } from '../../contract/push-provider.contract.js';

describe('FcmProvider (FCM HTTP v1, service-account OAuth)', () => {
  const services: FakeFcm[] = [];
  const fake = async (opts?: Parameters<typeof startFakeFcm>[0]) => {
    const s = await startFakeFcm(opts);
    services.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
  });

  it('sends the documented message: token, notification, data as strings, the badge and tag for Android and APNs', async () => {
    const fcm = await fake();
    const provider = new FcmProvider({ account: fcm.account, baseUrl: fcm.url });
    const token = tokenFor('accepted');
    expect(await provider.send({ kind: 'fcm', token }, pushMessage({ badge: 5, messageId: 9, tag: 'c-42' }))).toEqual({ ok: true });
    expect(fcm.problems).toEqual([]);
    const [sent] = fcm.delivered;
    expect(sent!.headers['content-type']).toMatch(/^application\/json/);
    expect(sent!.body).toEqual({
      message: {
        token,
        notification: { title: 'Ada', body: 'are you there?' },
        data: { conversation_id: '42', message_id: '9', tag: 'c-42', badge: '5' },
        android: { collapse_key: 'c-42', notification: { tag: 'c-42', notification_count: 5 } },
        apns: { headers: { 'apns-collapse-id': 'c-42' }, payload: { aps: { badge: 5 } } },
      },
    });
  });

  it('a push with no message (the one that clears the badge) carries no message_id', async () => {
    const fcm = await fake();
    const provider = new FcmProvider({ account: fcm.account, baseUrl: fcm.url });
    await provider.send({ kind: 'fcm', token: tokenFor('accepted') }, pushMessage({ badge: 0, messageId: null }));
    expect(fcm.delivered[0]!.body.message.data).toEqual({ conversation_id: '42', tag: 'conversation-42', badge: '0' });
  });

  it('keeps the access token until it nears its expiry, then exchanges a new assertion', async () => {
    const lasting = await fake();
    const provider = new FcmProvider({ account: lasting.account, baseUrl: lasting.url });
    for (let i = 0; i < 3; i++) await provider.send({ kind: 'fcm', token: tokenFor('accepted') }, pushMessage());
    expect(lasting.exchanges).toBe(1);
    // A token that lives less than the renewal margin is exchanged again for every send.
    const brief = await fake({ expiresInS: 30 });
    const renewing = new FcmProvider({ account: brief.account, baseUrl: brief.url });
    for (let i = 0; i < 3; i++) await renewing.send({ kind: 'fcm', token: tokenFor('accepted') }, pushMessage());
    expect(brief.exchanges).toBe(3);
    expect(brief.credentials.size).toBe(3);
    expect([...lasting.problems, ...brief.problems]).toEqual([]);
  });

  it('refuses a target of another kind', async () => {
    const fcm = await fake();
    const provider = new FcmProvider({ account: fcm.account, baseUrl: fcm.url });
    await expect(provider.send({ kind: 'apns', token: 'x' }, pushMessage())).rejects.toThrow(/apns/);
  });

  it('reads the service-account file Google gives, and names a missing field', () => {
    const file = { type: 'service_account', project_id: 'p', private_key_id: 'k', private_key: 'PEM', client_email: 'a@p.iam', token_uri: 'https://oauth2.googleapis.com/token' };
    expect(parseFcmServiceAccount(JSON.stringify(file))).toMatchObject({ project_id: 'p', token_uri: 'https://oauth2.googleapis.com/token' });
    expect(() => parseFcmServiceAccount(JSON.stringify({ ...file, client_email: undefined }))).toThrow(/client_email/);
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterMs('120')).toBe(120_000);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 1)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(60_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});
