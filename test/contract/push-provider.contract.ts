import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import type { PushMessage, PushOutcome, PushProvider, PushTarget } from '../../src/core/notifications/ports.js';
import { THROTTLE_RETRY_AFTER_S, tokenFor, type FakePushService, type PushSituation } from '../helpers/push-fakes.js';

/** A provider wired to a local fake of its service. */
export interface PushProviderHandle {
  provider: PushProvider;
  service: FakePushService;
  target(token: string): PushTarget;
}
export type MakePushProvider = (opts?: { wrongKey?: boolean }) => Promise<PushProviderHandle>;

export const pushMessage = (over: Partial<PushMessage> = {}): PushMessage => ({
  title: 'Ada',
  body: 'are you there?',
  badge: 3,
  conversationId: 42,
  messageId: 7,
  tag: 'conversation-42',
  ...over,
});

const RETRY = { ok: false, gone: false } as const;
/** The outcome every provider gives in each situation its service can be in. */
const EXPECTED: Record<PushSituation, PushOutcome> = {
  accepted: { ok: true },
  unregistered: { ok: false, gone: true },
  'bad-token': { ok: false, gone: true },
  throttled: { ok: false, gone: false, retryAfterMs: THROTTLE_RETRY_AFTER_S * 1000 },
  unavailable: RETRY,
  reset: RETRY,
  // The credential was refused: try again (with a new one), the target is not at fault.
  'stale-credential': RETRY,
};

/** The PushProvider contract (src/core/notifications/ports.ts): the same outcomes whichever service is behind it. */
export function pushProviderContract(make: MakePushProvider): void {
  const open: PushProviderHandle[] = [];
  const handle = async (opts?: { wrongKey?: boolean }) => {
    const h = await make(opts);
    open.push(h);
    return h;
  };
  afterEach(async () => {
    for (const h of open.splice(0)) await h.service.close();
  });
  const send = (h: PushProviderHandle, situation: PushSituation, message = pushMessage()) => h.provider.send(h.target(tokenFor(situation)), message);

  it('an accepted push is ok, reaches the service in its documented shape, authenticated', async () => {
    const h = await handle();
    const target = h.target(tokenFor('accepted'));
    expect(await h.provider.send(target, pushMessage())).toEqual({ ok: true });
    expect(h.service.problems).toEqual([]);
    expect(h.service.delivered.map((d) => d.token)).toEqual([(target as { token: string }).token]);
  });

  it.each(['unregistered', 'bad-token'] as const)('%s: the target is gone for good', async (situation) => {
    const h = await handle();
    expect(await send(h, situation)).toEqual({ ok: false, gone: true });
    expect(h.service.problems).toEqual([]);
  });

  it("throttled: try again after the service's Retry-After", async () => {
    const h = await handle();
    expect(await send(h, 'throttled')).toEqual({ ok: false, gone: false, retryAfterMs: THROTTLE_RETRY_AFTER_S * 1000 });
  });

  it.each(['unavailable', 'reset'] as const)('%s: try again, the target is not gone', async (situation) => {
    const h = await handle();
    expect(await send(h, situation)).toMatchObject(RETRY);
  });

  it('the service down: try again', async () => {
    const h = await handle();
    await h.service.close();
    expect(await send(h, 'accepted')).toMatchObject(RETRY);
  });

  it('a credential the service stops accepting: try again, and the next send authenticates anew and is accepted', async () => {
    const h = await handle();
    const target = h.target(tokenFor('stale-credential'));
    expect(await h.provider.send(target, pushMessage())).toMatchObject(RETRY);
    expect(await h.provider.send(target, pushMessage())).toEqual({ ok: true });
    expect(h.service.credentials.size).toBe(2);
    expect(h.service.problems.filter((p) => !/bearer|token/.test(p))).toEqual([]);
  });

  it('concurrent sends share one credential', async () => {
    const h = await handle();
    const outcomes = await Promise.all(Array.from({ length: 12 }, () => send(h, 'accepted')));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(h.service.credentials.size).toBe(1);
    expect(h.service.delivered).toHaveLength(12);
  });

  it('signed with a key the service does not know: refused, never delivered, and the target is not blamed', async () => {
    const h = await handle({ wrongKey: true });
    const outcome = await send(h, 'accepted');
    expect(outcome).toMatchObject(RETRY);
    expect(h.service.delivered).toEqual([]);
    expect(h.service.problems.length).toBeGreaterThan(0);
  });

  it('property: any mix of situations, sent at once, gives each send the outcome of its situation', async () => {
    const h = await handle();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom<PushSituation>('accepted', 'unregistered', 'bad-token', 'throttled', 'unavailable'), { minLength: 1, maxLength: 6 }), async (situations) => {
        const outcomes = await Promise.all(situations.map((s) => send(h, s)));
        outcomes.forEach((o, i) => expect(o).toEqual(EXPECTED[situations[i]!]));
      }),
      { numRuns: 25, seed: 19 },
    );
    expect(h.service.problems).toEqual([]);
  });
}
