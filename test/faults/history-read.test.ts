import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { roomHistory } from '../../scripts/fault/fault.js';
import { connectedPair, type TestSocket } from '../helpers/clients.js';
import { hasPostgres } from '../helpers/pg.js';
import { useParley } from '../helpers/parley.js';

// The fault run's truth is a room's REST history read page by page while, after a catch-up
// that timed out, the processes still commit. /api/chat pages count from the newest message
// at each request, so a page read after more commits repeats rows of the one before: the
// reading must hold each stored row once (a row seen on two pages is not "stored twice"),
// and every message committed before it began (an acked one is never "lost").
describe.skipIf(!hasPostgres)('fault run: reading the history while messages commit', () => {
  const server = useParley({ db: 'postgres' });
  let n = 0;
  /** Sends `count` messages on `s` and waits for every ack. */
  const send = async (s: TestSocket, room: number, count: number) => {
    const ids = Array.from({ length: count }, () => `h-${++n}`);
    for (const id of ids) s.send({ type: 'send_message', data: { room_id: room, content: id, local_temp_id: id } });
    for (const id of ids) await s.next('new_message', { where: (f) => f.data?.local_temp_id === id, timeoutMs: 10_000 });
  };

  it('holds every row committed before it began, each once, whatever commits between pages', async () => {
    const { a, room, sa } = await connectedPair(server);
    await send(sa, room, 120);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 3 }), async (between) => {
        const before = n;
        let gap = 0;
        const port = Number(new URL(server.url).port);
        const read = await roomHistory(port, a.token, room, () => send(sa, room, between[gap++ % between.length]));
        expect(new Set(read.map((m) => m.id)).size).toBe(read.length);
        expect(new Set(read.map((m) => m.seq)).size).toBe(read.length);
        const contents = new Set(read.map((m) => m.content));
        for (let i = 1; i <= before; i++) expect(contents.has(`h-${i}`)).toBe(true);
      }),
      { numRuns: 4 },
    );
  }, 60_000);
});
