import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, newUser, type TestUser, sleep } from '../helpers/clients.js';
import { useParley, startParley, type TestServer } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';
import { newRedisPrefix, dropPrefix, redisUrl } from '../contract/redis.js';

// Issue 14 item 8: "60 wrong passwords, then the right one succeeds". Logins are throttled
// per account (tenant + email) and per client address, counted through the rate limiter
// (shared by every process on one Redis), checked before any hashing: a throttled attempt
// is 429 {"detail"} with Retry-After and costs no argon2.

const login = (server: { url: string }, email: string, password: string, address?: string) =>
  api(server, 'POST', '/api/auth/login', { json: { email, password }, headers: address ? { 'x-forwarded-for': address } : {} });

// /metrics is not public: METRICS_TOKEN opens it on the main port (ignored where it is public).
const METRICS = { METRICS_TOKEN: 'metrics-for-login-throttle-tests' };

/** parley_password_hashes_total of one process. */
async function hashes(server: { url: string }): Promise<number> {
  const text = (await api(server, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS.METRICS_TOKEN}` } })).body as string;
  return Number(/^parley_password_hashes_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

let addressSeq = 0;
/** An address no other test of this file uses. */
const freshAddress = () => `10.${Math.floor(++addressSeq / 250) % 250}.${addressSeq % 250}.${1 + (process.pid % 250)}`;

describe('login throttling', () => {
  const server = useParley({
    env: {
      RATE_LOGIN_ACCOUNT_FAILURES: '5/1m,20/15m',
      RATE_LOGIN_ADDRESS_FAILURES: '20/10s,100/5m',
      RATE_LOGIN_ADDRESS_ATTEMPTS: '60/100ms',
      TRUST_PROXY: 'true',
      ...METRICS,
    },
  });

  it('60 wrong passwords, then the right one: refused with 429, Retry-After and {"detail"}, and nothing hashed past the fifth', async () => {
    const victim = await newUser(server);
    // Warm: the first login of a process may prepare statements; not what is counted.
    expect((await login(server, victim.user.email, victim.password, freshAddress())).status).toBe(200);
    const before = await hashes(server);
    const statuses: number[] = [];
    // From many addresses, as a botnet would: the per-account limit holds on its own.
    for (let i = 0; i < 60; i++) statuses.push((await login(server, victim.user.email, 'wrong password ' + i, freshAddress())).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    const right = await login(server, victim.user.email, victim.password, freshAddress());
    expect(right.status).toBe(429);
    expect(right.body).toEqual({ detail: 'Too many login attempts; try again later' });
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(right.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // Only the five attempts that were let through were hashed.
    expect((await hashes(server)) - before).toBe(5);
    // Other accounts are not affected.
    const other = await newUser(server);
    expect((await login(server, other.user.email, other.password, freshAddress())).status).toBe(200);
  });

  it('an unknown email is throttled the same way (the answer does not tell which accounts exist)', async () => {
    const email = `nobody-${Date.now()}@example.com`;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await login(server, email, 'whatever pw', freshAddress())).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
  });

  it('only failures use the budget: a right password gives back what its attempt took', async () => {
    const u = await newUser(server);
    const address = freshAddress();
    for (let i = 0; i < 4; i++) expect((await login(server, u.user.email, 'typo typo', address)).status).toBe(401);
    // Twenty right answers in between take nothing for good.
    for (let i = 0; i < 20; i++) expect((await login(server, u.user.email, u.password, address)).status).toBe(200);
    expect((await login(server, u.user.email, 'typo typo', address)).status).toBe(401);
    // The sixth failure within the minute is one too many.
    expect((await login(server, u.user.email, 'typo typo', address)).status).toBe(429);
  });

  it('one address trying many accounts is throttled per address', async () => {
    const address = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 24; i++) statuses.push((await login(server, `spray-${i}-${Date.now()}@example.com`, 'Summer2024!', address)).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429]);
    // Another address is not affected.
    const u = await newUser(server);
    expect((await login(server, u.user.email, u.password, freshAddress())).status).toBe(200);
  });

  it('a flood of logins from one address, right or wrong, is throttled before hashing', async (t) => {
    // Only the per-address budget of attempts: the failure budgets would also stop some of
    // these (concurrent checks of one account each hold a failure token until answered).
    const flood = await startParley(t, { env: { RATE_LOGIN_ADDRESS_ATTEMPTS: '60/100ms', TRUST_PROXY: 'true', ...METRICS } });
    const u = await newUser(flood);
    const address = freshAddress();
    const before = await hashes(flood);
    const all = await Promise.all(Array.from({ length: 150 }, () => login(flood, u.user.email, u.password, address)));
    const ok = all.filter((r) => r.status === 200).length;
    const throttled = all.filter((r) => r.status === 429).length;
    expect(ok + throttled).toBe(150);
    // 60 at once, plus the 10/s refill while they arrived.
    expect(ok).toBeGreaterThanOrEqual(55);
    expect(ok).toBeLessThan(100);
    expect((await hashes(flood)) - before).toBe(ok);
  });

  it('/api/parley/auth/login is throttled the same way, in its own error shape', async () => {
    const u = await newUser(server);
    for (let i = 0; i < 5; i++) {
      const r = await api(server, 'POST', '/api/parley/auth/login', { json: { email: u.user.email, password: 'bad bad bad' }, headers: { 'x-forwarded-for': freshAddress() } });
      expect(r.status).toBe(401);
    }
    const r = await api(server, 'POST', '/api/parley/auth/login', { json: { email: u.user.email, password: u.password }, headers: { 'x-forwarded-for': freshAddress() } });
    expect(r.status).toBe(429);
    expect(r.body).toEqual({ detail: 'Too many login attempts; try again later', code: 'rate_limited' });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('after Retry-After has passed, the right password works again', async (t) => {
    const quick = await startParley(t, { env: { RATE_LOGIN_ACCOUNT_FAILURES: '2/1s' } });
    const u = await newUser(quick);
    for (let i = 0; i < 2; i++) expect((await login(quick, u.user.email, 'wrong wrong')).status).toBe(401);
    const refused = await login(quick, u.user.email, u.password);
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBe(1);
    await sleep(wait * 1000 + 50);
    expect((await login(quick, u.user.email, u.password)).status).toBe(200);
  });
});

// ------------------------------------------------------------------ the invariant

// Buckets that do not refill during a run (one token a day): the outcome of every attempt is
// then a function of the attempts before it, which a model computes exactly.
const TIERS = { account: 3, addressFailures: 5, addressAttempts: 8 };
const THROTTLE_ENV = {
  RATE_LOGIN_ACCOUNT_FAILURES: `${TIERS.account}/1d`,
  RATE_LOGIN_ADDRESS_FAILURES: `${TIERS.addressFailures}/1d`,
  RATE_LOGIN_ADDRESS_ATTEMPTS: `${TIERS.addressAttempts}/1d`,
  TRUST_PROXY: 'true',
  ...METRICS,
};

type Step =
  | { kind: 'login'; account: number; address: number; right: boolean; via: number }
  /** Wrong passwords for one account, all at once, each from an address of its own. */
  | { kind: 'burst'; account: number; size: number; via: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('login' as const), account: fc.nat(1), address: fc.nat(2), right: fc.boolean(), via: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('burst' as const), account: fc.nat(1), size: fc.integer({ min: 2, max: 6 }), via: fc.nat(1) }) },
);

/** The throttle as the configuration describes it: token counts per bucket. */
class Model {
  readonly #tokens = new Map<string, number>();
  #get(key: string, burst: number) {
    return this.#tokens.get(key) ?? burst;
  }
  login(account: number, address: string, right: boolean): 200 | 401 | 429 {
    const tryKey = `try:${address}`;
    if (this.#get(tryKey, TIERS.addressAttempts) < 1) return 429;
    this.#tokens.set(tryKey, this.#get(tryKey, TIERS.addressAttempts) - 1);
    const failures: [string, number][] = [
      [`fail:${address}`, TIERS.addressFailures],
      [`acct:${account}`, TIERS.account],
    ];
    if (failures.some(([k, burst]) => this.#get(k, burst) < 1)) return 429;
    if (right) return 200;
    for (const [k, burst] of failures) this.#tokens.set(k, this.#get(k, burst) - 1);
    return 401;
  }
  /** A burst from fresh addresses: only the account's bucket decides; returns how many are checked (401). */
  burst(account: number, size: number): number {
    const left = this.#get(`acct:${account}`, TIERS.account);
    const checked = Math.min(size, left);
    this.#tokens.set(`acct:${account}`, left - checked);
    return checked;
  }
}

function throttleInvariant(label: string, servers: () => TestServer[]) {
  it(`${label}: every attempt gets exactly what the buckets allow; 429s carry Retry-After and cost no hash`, { timeout: 240_000 }, async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
        const s = servers();
        const tag = `${process.pid}-${++run}-${Date.now()}`;
        const users: TestUser[] = [await newUser(s[0], { email: `inv-a-${tag}@example.com` }), await newUser(s[0], { email: `inv-b-${tag}@example.com` })];
        const address = (i: number) => `172.${16 + (run % 16)}.${i}.${run % 250}`;
        let fresh = 0;
        const model = new Model();
        const hashesBefore = (await Promise.all(s.map(hashes))).reduce((a, b) => a + b, 0);
        let checked = 0;
        for (const st of steps) {
          const server = s[st.via % s.length];
          const u = users[st.account];
          if (st.kind === 'login') {
            const expected = model.login(st.account, address(st.address), st.right);
            const r = await login(server, u.user.email, st.right ? u.password : 'not the password', address(st.address));
            expect(r.status, JSON.stringify(st)).toBe(expected);
            if (r.status === 429) {
              expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
              expect(r.body).toEqual({ detail: expect.any(String) });
            } else checked++;
          } else {
            const expected = model.burst(st.account, st.size);
            const all = await Promise.all(
              Array.from({ length: st.size }, () => login(server, u.user.email, 'not the password', `192.168.${++fresh % 250}.${run % 250}`)),
            );
            expect(all.filter((r) => r.status === 401).length, JSON.stringify(st)).toBe(expected);
            expect(all.filter((r) => r.status === 429).length, JSON.stringify(st)).toBe(st.size - expected);
            checked += expected;
          }
        }
        const hashesAfter = (await Promise.all(s.map(hashes))).reduce((a, b) => a + b, 0);
        expect(hashesAfter - hashesBefore).toBe(checked);
      }),
      { numRuns: Number(process.env.THROTTLE_RUNS ?? 15), seed: process.env.THROTTLE_SEED ? Number(process.env.THROTTLE_SEED) : undefined },
    );
  });
}

describe('the login throttle as an invariant (fast-check)', () => {
  let one: TestServer;
  beforeAll(async () => {
    one = await startParley({ env: THROTTLE_ENV });
  });
  afterAll(() => one.close());
  throttleInvariant('one process', () => [one]);
});

describe.skipIf(!redisUrl || !hasPostgres)('the login throttle is shared by two processes on one Redis', () => {
  let a: TestServer;
  let b: TestServer;
  const prefix = newRedisPrefix('login-throttle');
  beforeAll(async () => {
    const env = { ...THROTTLE_ENV, REDIS_URL: redisUrl!, REDIS_PREFIX: prefix };
    a = await startParley({ db: 'postgres', env });
    // The second process shares the first one's database, as a deployment would.
    b = await startParley({ data: { dir: mkdtempSync(path.join(tmpdir(), 'parley-throttle-b-')), databaseUrl: a.data.databaseUrl }, env });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await dropPrefix(redisUrl!, prefix);
  });

  it('wrong passwords spread over both processes count together', async () => {
    const u = await newUser(a);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(i % 2 ? b : a, u.user.email, 'wrong', freshAddress())).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  throttleInvariant('two processes', () => [a, b]);
});
