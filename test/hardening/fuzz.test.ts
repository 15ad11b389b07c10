import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/parley.js';
import { auditedActions, closeAgent, failures, fuzzServer, newAccount, rawRequest, REQUEST_TIMEOUT_MS, runFuzz, summary } from './fuzz-lib.js';

// Issue 9 item 1, CI form: every REST operation of /docs/json and every frame type of every
// socket, ~60 generated bad inputs each, seeded (FUZZ_SEED, FUZZ_N override). The full form:
// `npm run fuzz` (scripts/fuzz/main.ts).
const SEED = Number(process.env.FUZZ_SEED ?? 20260609);
const N = Number(process.env.FUZZ_N ?? 60);

describe('generated bad input changes nothing', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await fuzzServer();
  });
  afterAll(async () => {
    closeAgent();
    await server?.close();
  });

  it('every REST operation and every frame type refuses bad input: 4xx {detail} / error frame, no 5xx, no row, no crash', { timeout: 150_000 }, async () => {
    const r = await runFuzz(server, { seed: SEED, perOperation: N, perFrameType: N, anonymousPerOperation: 5 });
    console.log(`fuzz seed=${SEED} n=${N}\n` + summary(r));
    const f = failures(r);
    if (f.length) console.log('FAILURES:\n' + f.slice(0, 60).join('\n'));
    expect(r.tally.totals().fiveXX).toBe(0);
    expect(r.processErrors).toEqual([]);
    expect(f).toEqual([]);
    // A valid read may be audited (a tenant export); no refused change ever is.
    expect((await auditedActions(server)).filter((a) => a !== 'tenant.export')).toEqual([]);
  });

  // ---- the bugs it found (fixed), one deterministic request each

  it('a path Fastify cannot decode (%zz) or a path param over 100 characters is a 4xx {"detail"}', async () => {
    const a = await newAccount(server);
    for (const path of ['/api/parley/messages/%zz', '/api/chat/rooms/%', `/api/parley/conversations/${'a'.repeat(120)}`]) {
      const res = await rawRequest(server.url, 'GET', path, { authorization: `Bearer ${a.token}` });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(Object.keys(JSON.parse(res.text)), `${path} → ${res.text}`).toEqual(['detail']);
    }
  });

  it('a truncated multipart upload is answered with a 4xx, not left hanging', { timeout: 20_000 }, async () => {
    const a = await newAccount(server);
    const body = Buffer.from('--X\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n\x89PNG');
    for (const path of ['/api/chat/upload-files', '/api/notifications/chat/upload/', '/api/parley/files']) {
      const res = await rawRequest(server.url, 'POST', path, { authorization: `Bearer ${a.token}`, 'content-type': 'multipart/form-data; boundary=X' }, body).catch(
        (e: Error) => ({ status: 0, text: `no answer within ${REQUEST_TIMEOUT_MS} ms: ${e.message}` }),
      );
      expect(res.status, `${path}: ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${path}: ${res.text}`).toBeLessThan(500);
    }
  });
});
