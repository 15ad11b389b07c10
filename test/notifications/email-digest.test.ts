// Issue 19: e-mail for DMs and mentions still unread after EMAIL_DELAY_MS, one e-mail per user
// listing them all, over a real SMTP server on loopback. Messages are sent and read through
// /api/parley of a real Parley; the digest runs over that server's database with the clock of
// each tick given (a tick at `now + DELAY` finds everything sent before it due).
import fc from 'fast-check';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpMailer } from '../../src/backends/mail/smtp-mailer.js';
import { createStore } from '../../src/backends/store/create-store.js';
import { SqlEmailDigest } from '../../src/backends/store/sql/email-digest.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { EmailDigest, type EmailDigestOptions } from '../../src/core/notifications/email/digest.js';
import { api, eventually, newRoom, newUser, sleep, type TestUser } from '../helpers/clients.js';
import { sqlStoreOf, startParley, startTwoProcesses, useParley, type TestServer } from '../helpers/parley.js';
import { databases, hasPostgres } from '../helpers/pg.js';
import { startLocalSmtp, type LocalSmtp } from '../helpers/smtp.js';

const DELAY = 60_000;
const LATE = DELAY + 1000;
let names = 0;

async function person(server: TestServer): Promise<TestUser> {
  return newUser(server, { name: `Mail${process.pid}x${++names}` });
}
/** The `@name` that mentions a user (names match without spaces, any case). */
const at = (u: TestUser) => `@${u.user.name.toLowerCase()}`;

async function send(server: TestServer, from: TestUser, conversationId: number, content: string): Promise<void> {
  const r = await api(server, 'POST', `/api/parley/conversations/${conversationId}/messages`, { token: from.token, json: { content } });
  expect(r.status).toBe(201);
}
async function read(server: TestServer, who: TestUser, conversationId: number): Promise<void> {
  expect((await api(server, 'POST', `/api/parley/conversations/${conversationId}/read`, { token: who.token, json: {} })).status).toBe(200);
}
/** PUT a notification setting: the user's own (conversation null) or one conversation's. */
async function setting(server: TestServer, who: TestUser, conversationId: number | null, json: { level?: string | null; mute_until?: string | null }): Promise<void> {
  const path = conversationId === null ? '/api/parley/me/notification-settings' : `/api/parley/conversations/${conversationId}/notification-settings`;
  expect((await api(server, 'PUT', path, { token: who.token, json })).status).toBe(200);
}
const FOREVER = new Date(Date.now() + 10 * 365 * 86_400_000).toISOString();
async function group(server: TestServer, owner: TestUser, members: TestUser[]): Promise<number> {
  const r = await api(server, 'POST', '/api/parley/conversations', { token: owner.token, json: { kind: 'group', title: 'Launch', member_ids: members.map((m) => m.user.id) } });
  expect(r.status).toBe(201);
  return r.body.id as number;
}

for (const db of databases) {
  describe(`e-mail digest (${db})`, () => {
    const server = useParley({ db });
    let smtp: LocalSmtp;
    let mailer: SmtpMailer;
    beforeAll(async () => {
      smtp = await startLocalSmtp();
      mailer = new SmtpMailer(smtp.url, 'Parley <parley@example.com>');
    });
    afterAll(async () => {
      mailer?.close();
      await smtp?.close();
    });
    const digest = (over: Partial<EmailDigestOptions> = {}, store: SqlStore = sqlStoreOf(server)) =>
      new EmailDigest(new SqlEmailDigest(store), mailer, {
        delayMs: DELAY,
        maxAgeMs: 7 * 86_400_000,
        contentFree: false,
        publicUrl: 'https://chat.example.com',
        unsubscribeUrl: (id) => server.parley.core.emailUnsubscribe!.url(id),
        onError: (e) => console.error(e),
        ...over,
      });
    const mailsTo = (u: TestUser): ParsedMail[] => smtp.mails.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((t) => t?.text.includes(u.user.email)));

    it('three messages in two conversations (two DMs, a mention) make one e-mail, with an unsubscribe link; the next tick sends nothing', async () => {
      const [ann, bob, cat] = [await person(server), await person(server), await person(server)];
      const dm = await newRoom(server, ann, bob);
      const launch = await group(server, cat, [ann, bob]);
      await send(server, ann, dm, 'lunch at noon?');
      await send(server, ann, dm, 'or one');
      await send(server, cat, launch, `${at(bob)} can you review the launch notes`);
      await send(server, cat, launch, 'nobody is mentioned here');
      const job = digest();
      await job.tick(Date.now());
      expect(mailsTo(bob)).toEqual([]); // not unread for EMAIL_DELAY_MS yet
      await job.tick(Date.now() + LATE);
      const [mail, ...more] = mailsTo(bob);
      expect(more).toEqual([]);
      expect(mail!.subject).toBe('3 unread messages in 2 conversations');
      expect(mail!.text).toContain('lunch at noon?');
      expect(mail!.text).toContain('or one');
      expect(mail!.text).toContain('can you review the launch notes');
      expect(mail!.text).not.toContain('nobody is mentioned here');
      expect(mail!.text).toContain(`${ann.user.name}: lunch at noon?`);
      const header = (name: string) => mail!.headerLines.find((h) => h.key === name)?.line.replace(/\r\n\s+/g, ' ');
      expect(header('list-unsubscribe')).toMatch(new RegExp(`^List-Unsubscribe: <${server.url}/api/parley/email/unsubscribe\\?token=${bob.user.id}\\.[\\w-]{43}>$`));
      expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      // The senders were mentioned in nothing and wrote the rest themselves.
      expect(mailsTo(ann)).toEqual([]);
      expect(mailsTo(cat)).toEqual([]);
      await job.tick(Date.now() + LATE);
      expect(mailsTo(bob)).toHaveLength(1);
      // A later message is e-mailed on its own.
      await send(server, ann, dm, 'still there?');
      await job.tick(Date.now() + LATE);
      expect(mailsTo(bob)).toHaveLength(2);
      expect(mailsTo(bob)[1]!.text).toContain('still there?');
      expect(mailsTo(bob)[1]!.text).not.toContain('lunch at noon?');
    });

    it('read before EMAIL_DELAY_MS: no e-mail', async () => {
      const [ann, bob] = [await person(server), await person(server)];
      const dm = await newRoom(server, ann, bob);
      await send(server, ann, dm, 'seen in time');
      await read(server, bob, dm);
      await digest().tick(Date.now() + LATE);
      expect(mailsTo(bob)).toEqual([]);
    });

    it('push preferences hold for e-mail: a muted conversation sends none, level none sends none, a conversation set to none is left out', async () => {
      const [ann, bob, cat, dan] = [await person(server), await person(server), await person(server), await person(server)];
      const muted = await newRoom(server, ann, bob);
      const open = await group(server, ann, [bob]);
      await setting(server, bob, muted, { mute_until: FOREVER });
      await send(server, ann, muted, 'muted dm');
      await send(server, ann, open, `${at(bob)} mention still mailed`);
      // cat turned everything off; dan only this conversation.
      const toCat = await newRoom(server, ann, cat);
      await setting(server, cat, null, { level: 'none' });
      await send(server, ann, toCat, 'nobody hears this');
      const toDan = await newRoom(server, ann, dan);
      const danGroup = await group(server, ann, [dan]);
      await setting(server, dan, toDan, { level: 'none' });
      await send(server, ann, toDan, 'quiet here');
      await send(server, ann, danGroup, `${at(dan)} but here`);
      await digest().tick(Date.now() + LATE);
      const [mail, ...more] = mailsTo(bob);
      expect(more).toEqual([]);
      expect(mail!.text).toContain('mention still mailed');
      expect(mail!.text).not.toContain('muted dm');
      expect(mailsTo(cat)).toEqual([]);
      expect(mailsTo(dan).map((m) => m.text)).toEqual([expect.stringContaining('but here')]);
      expect(mailsTo(dan)[0]!.text).not.toContain('quiet here');
    });

    it('content-free (NOTIFY_CONTENT=none): only how many, never who or what', async () => {
      const [ann, bob] = [await person(server), await person(server)];
      const dm = await newRoom(server, ann, bob);
      await send(server, ann, dm, 'a secret plan');
      await send(server, ann, dm, 'another secret');
      await digest({ contentFree: true }).tick(Date.now() + LATE);
      const [mail] = mailsTo(bob);
      expect(mail!.subject).toBe('You have 2 unread messages');
      expect(mail!.text).toContain('You have 2 unread messages.');
      expect(mail!.text).not.toMatch(/secret|Mail\d/);
    });

    it('an e-mail the SMTP server refuses is sent at the next tick, once', async () => {
      const [ann, bob] = [await person(server), await person(server)];
      const dm = await newRoom(server, ann, bob);
      await send(server, ann, dm, 'refused at first');
      const job = digest({ onError: () => {} });
      smtp.refusing = true;
      try {
        expect(await job.tick(Date.now() + LATE)).toBe(0);
      } finally {
        smtp.refusing = false;
      }
      await job.tick(Date.now() + LATE);
      await job.tick(Date.now() + LATE);
      expect(mailsTo(bob)).toHaveLength(1);
    });

    it("the e-mail's unsubscribe link turns e-mail off for its user only; a forged token is refused", async () => {
      const [ann, bob] = [await person(server), await person(server)];
      const dm = await newRoom(server, ann, bob);
      await send(server, ann, dm, 'first');
      const job = digest();
      await job.tick(Date.now() + LATE);
      const link = /Stop these e-mails: (\S+)/.exec(mailsTo(bob)[0]!.text ?? '')![1]!;
      const forged = link.replace(/token=\d+/, `token=${ann.user.id}`);
      const refused = await fetch(forged);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ detail: expect.any(String) });
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('no more e-mail');
      // Opened twice (a mail scanner, then the user): still fine.
      expect((await fetch(link)).status).toBe(200);
      await send(server, ann, dm, 'after unsubscribing');
      await send(server, bob, dm, 'ann is still e-mailed');
      await job.tick(Date.now() + LATE);
      expect(mailsTo(bob)).toHaveLength(1);
      expect(mailsTo(ann)).toHaveLength(1);
    });

    it('one-click unsubscribe (RFC 8058): the mail client posts to the List-Unsubscribe URL', async () => {
      const [ann, bob] = [await person(server), await person(server)];
      const dm = await newRoom(server, ann, bob);
      const link = server.parley.core.emailUnsubscribe!.url(bob.user.id);
      const posted = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(posted.status).toBe(200);
      await send(server, ann, dm, 'you unsubscribed');
      await digest().tick(Date.now() + LATE);
      expect(mailsTo(bob)).toEqual([]);
    });

    // Several processes on one database is PostgreSQL's deployment (SQLite serves one process).
    if (db === 'postgres') {
      it('two processes ticking at once e-mail each user once', async () => {
        const other = createStore(server.data.databaseUrl) as SqlStore;
        try {
          const people = await Promise.all([person(server), person(server), person(server), person(server)]);
          const [ann, ...readers] = people;
          for (const r of readers) await send(server, ann!, await newRoom(server, ann!, r), `hello ${r.user.name}`);
          const now = Date.now() + LATE;
          const sent = await Promise.all([digest().tick(now), digest({}, other).tick(now), digest().tick(now), digest({}, other).tick(now)]);
          expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(readers.length);
          for (const r of readers) expect(mailsTo(r)).toHaveLength(1);
        } finally {
          await other.close();
        }
      });
    }

    it('property: after any sequence of sends, reads, setting changes and ticks, each DM or mention unread for EMAIL_DELAY_MS is e-mailed exactly once while the settings allow it, a read or muted one never', async () => {
      type Do = 'dm' | 'mention' | 'plain' | 'read-dm' | 'read-group' | 'tick' | 'early-tick' | 'mute-dm' | 'unmute-dm' | 'level-none' | 'level-mentions';
      const stepArb = fc.constantFrom<Do>('dm', 'dm', 'mention', 'plain', 'read-dm', 'read-group', 'tick', 'early-tick', 'mute-dm', 'unmute-dm', 'level-none', 'level-mentions');
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (steps) => {
          run++;
          const [ann, bob] = [await person(server), await person(server)];
          const dm = await newRoom(server, ann, bob);
          const room = await group(server, ann, [bob]);
          const job = digest();
          // bob's settings now: the level in force, and whether the DM is muted (for every message so far).
          let none = false;
          let dmMuted = false;
          // Each message of the run to bob: whether it is a DM or mention, whether it must be e-mailed, whether that is still undecided.
          const sent: { text: string; conversation: number; due: boolean; mailed: boolean; pending: boolean }[] = [];
          const dueTick = async () => {
            await job.tick(Date.now() + LATE);
            // What the settings allow now is e-mailed; the rest waits (a mute until the future keeps it waiting).
            for (const m of sent.filter((x) => x.pending && x.due && !none && !(x.conversation === dm && dmMuted))) [m.mailed, m.pending] = [true, false];
            for (const m of sent.filter((x) => !x.due)) m.pending = false;
          };
          for (const [i, step] of steps.entries()) {
            if (step === 'dm' || step === 'mention' || step === 'plain') {
              const conversation = step === 'dm' ? dm : room;
              const text = `r${run}s${i}-${step}`;
              await send(server, ann, conversation, step === 'mention' ? `${at(bob)} ${text}` : text);
              sent.push({ text, conversation, due: step !== 'plain', mailed: false, pending: true });
            } else if (step === 'read-dm' || step === 'read-group') {
              const conversation = step === 'read-dm' ? dm : room;
              await read(server, bob, conversation);
              // Read before a tick e-mailed it: never e-mailed.
              for (const m of sent) if (m.conversation === conversation) m.pending = false;
            } else if (step === 'mute-dm' || step === 'unmute-dm') {
              dmMuted = step === 'mute-dm';
              await setting(server, bob, dm, { mute_until: dmMuted ? FOREVER : null });
            } else if (step === 'level-none' || step === 'level-mentions') {
              none = step === 'level-none';
              await setting(server, bob, null, { level: none ? 'none' : 'mentions' });
            } else if (step === 'tick') await dueTick();
            else await job.tick(Date.now());
          }
          await dueTick();
          const texts = mailsTo(bob).map((m) => m.text ?? '');
          for (const m of sent) {
            const times = texts.filter((t) => t.includes(m.text)).length;
            expect(times, m.text).toBe(m.mailed ? 1 : 0);
          }
        }),
        { numRuns: 8, seed: 1918 },
      );
    });
  });
}

describe('e-mail digest wired from the configuration (SMTP_URL)', () => {
  let smtp: LocalSmtp;
  beforeAll(async () => {
    smtp = await startLocalSmtp();
  });
  afterAll(() => smtp?.close());
  const env = () => ({ SMTP_URL: smtp.url, MAIL_FROM: 'Parley <parley@example.com>', EMAIL_DELAY_MS: '200', EMAIL_INTERVAL_MS: '1000' });
  const mailsTo = (u: TestUser) => smtp.mails.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((t) => t?.text.includes(u.user.email)));

  it('a running server e-mails an unread DM once, from MAIL_FROM', async (t) => {
    const server = await startParley(t, { env: env() });
    const [ann, bob] = [await person(server), await person(server)];
    await send(server, ann, await newRoom(server, ann, bob), 'wired up');
    const [mail] = await eventually(() => {
      const got = mailsTo(bob);
      expect(got).toHaveLength(1);
      return got;
    }, { timeoutMs: 15_000 });
    expect(mail!.from?.value).toEqual([{ name: 'Parley', address: 'parley@example.com' }]);
    expect(mail!.text).toContain('wired up');
    await sleep(2500); // two more ticks
    expect(mailsTo(bob)).toHaveLength(1);
  });

  it.runIf(hasPostgres && process.env.REDIS_URL)('two processes on one database e-mail each user once', async (t) => {
    const [one, two] = await startTwoProcesses(env());
    t.onTestFinished(async () => {
      await two.close();
      await one.close();
    });
    const ann = await person(one);
    const readers = [await person(one), await person(two), await person(one)];
    for (const [i, r] of readers.entries()) await send(i % 2 ? two : one, ann, await newRoom(one, ann, r), `twice? ${i}`);
    await eventually(() => readers.forEach((r) => expect(mailsTo(r)).toHaveLength(1)), { timeoutMs: 15_000 });
    await sleep(2500);
    readers.forEach((r) => expect(mailsTo(r)).toHaveLength(1));
  });
});
