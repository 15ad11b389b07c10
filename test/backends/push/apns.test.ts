import { afterEach, describe, expect, it } from 'vitest';
import { ApnsProvider } from '../../../src/backends/push/apns.js';
import { startFakeApns, tokenFor, type FakeApns } from '../../helpers/push-fakes.js';
import { pushMessage } from '../../contract/push-provider.contract.js';

describe('ApnsProvider (token-based auth over HTTP/2)', () => {
  const open: { service: FakeApns; provider: ApnsProvider }[] = [];
  const start = async () => {
    const service = await startFakeApns();
    const provider = new ApnsProvider({ keyPem: service.keyPem, keyId: service.keyId, teamId: service.teamId, topic: service.topic, baseUrl: service.url });
    open.push({ service, provider });
    return { service, provider };
  };
  afterEach(async () => {
    for (const { service, provider } of open.splice(0)) {
      provider.close();
      await service.close();
    }
  });

  it('posts /3/device/{token} with the documented headers and an alert payload with the badge', async () => {
    const { service, provider } = await start();
    const token = tokenFor('accepted');
    const before = Math.floor(Date.now() / 1000);
    expect(await provider.send({ kind: 'apns', token }, pushMessage({ badge: 4, tag: 'conversation-42' }))).toEqual({ ok: true });
    expect(service.problems).toEqual([]);
    const [sent] = service.delivered;
    expect(sent!.token).toBe(token);
    expect(sent!.headers).toMatchObject({ 'apns-topic': 'org.parley.app', 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-collapse-id': 'conversation-42' });
    expect(Number(sent!.headers['apns-expiration'])).toBeGreaterThanOrEqual(before + 86_400);
    expect(sent!.body).toEqual({
      aps: { alert: { title: 'Ada', body: 'are you there?' }, badge: 4, sound: 'default', 'thread-id': '42' },
      conversation_id: 42,
      message_id: 7,
    });
  });

  it('keeps one provider token and one connection across sends', async () => {
    const { service, provider } = await start();
    for (let i = 0; i < 4; i++) expect(await provider.send({ kind: 'apns', token: tokenFor('accepted') }, pushMessage())).toEqual({ ok: true });
    expect(service.credentials.size).toBe(1);
    expect(service.connections).toBe(1);
  });

  it('a tag longer than apns-collapse-id takes is cut to 64 bytes', async () => {
    const { service, provider } = await start();
    expect(await provider.send({ kind: 'apns', token: tokenFor('accepted') }, pushMessage({ tag: 'é'.repeat(40) }))).toEqual({ ok: true });
    expect(service.delivered[0]!.headers['apns-collapse-id']).toBe('é'.repeat(32));
  });

  it('opens a new connection after the service drops it', async () => {
    const { service, provider } = await start();
    expect(await provider.send({ kind: 'apns', token: tokenFor('accepted') }, pushMessage())).toEqual({ ok: true });
    await service.dropConnections();
    expect(await provider.send({ kind: 'apns', token: tokenFor('accepted') }, pushMessage())).toEqual({ ok: true });
    expect(service.delivered).toHaveLength(2);
    expect(service.connections).toBe(2);
  });

  it('refuses a target of another kind', async () => {
    const { provider } = await start();
    await expect(provider.send({ kind: 'fcm', token: 'x' }, pushMessage())).rejects.toThrow(/fcm/);
  });
});
