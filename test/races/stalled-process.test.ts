import { describe, expect, it } from 'vitest';
import { sqlStoreOf, useTwoProcesses } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';
import { chatHistory, chatSocket, newRoom, newUser, type TestSocket, type TestUser, sleep } from '../helpers/clients.js';

// Issue 15, item 5: a process stopped mid-commit keeps its row locks. Process A is frozen on
// purpose inside its transaction, right after it locked conversation X (a test hook awaits
// there, as SIGSTOP would leave it: the server sees a session idle in its transaction).
// Process B must keep acknowledging sends in every other conversation at once, and the
// server must end A's stuck session (idle_in_transaction_session_timeout) so that X's sends
// on B go through before A wakes up. Nothing is lost or doubled when A resumes.

const redisUrl = process.env.REDIS_URL;
const FREEZE_MS = 4000;
const IDLE_TIMEOUT_MS = 1500;

const ackOf = (s: TestSocket, tempId: string, timeoutMs = 15_000) =>
  s.next('new_message', { where: (f) => f.data.local_temp_id === tempId && f.data.is_sender === true, timeoutMs });

async function timedSend(s: TestSocket, room: number, to: TestUser, content: string, tempId: string) {
  const t0 = performance.now();
  s.send({ type: 'send_message', data: { room_id: room, receiver_id: to.user.id, message_type: 'text', content, local_temp_id: tempId } });
  const ack = await ackOf(s, tempId);
  return { ack, ms: performance.now() - t0 };
}

describe.runIf(hasPostgres && redisUrl)('a process stopped mid-commit holds up only its own conversation', () => {
  const [a, b] = useTwoProcesses({ PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: String(IDLE_TIMEOUT_MS) });

  it('other conversations on the other process are acknowledged at once; the stuck one once the server ends the frozen session', async () => {
    const [alice, bob, carol, dave] = [await newUser(a), await newUser(a), await newUser(b), await newUser(b)];
    const x = await newRoom(a, alice, bob);
    const y = await newRoom(b, carol, dave);
    const onA = await chatSocket(a, alice, x);
    const bobOnB = await chatSocket(b, bob, x);
    const carolOnB = await chatSocket(b, carol, y);

    // Before: acks on B in Y, for comparison.
    const baseline = (await timedSend(carolOnB, y, dave, 'warm-up', 'y0')).ms;

    // A freezes inside its transaction once it holds X's row.
    const storeA = sqlStoreOf(a);
    let frozeAt = 0;
    let froze!: () => void;
    const frozen = new Promise<void>((r) => (froze = r));
    storeA.afterLock = async (ids) => {
      if (frozeAt === 0 && ids.includes(x)) {
        frozeAt = performance.now();
        froze();
        await sleep(FREEZE_MS);
      }
    };
    onA.send({ type: 'send_message', data: { room_id: x, receiver_id: bob.user.id, message_type: 'text', content: 'from the frozen process', local_temp_id: 'a1' } });
    await frozen;

    // B: a send into X (held by A), then one into Y right behind it.
    const intoX = timedSend(bobOnB, x, alice, 'into the held conversation', 'b1');
    await sleep(20);
    const intoY = await timedSend(carolOnB, y, dave, 'elsewhere', 'y1');
    const xDone = await intoX;
    console.log(
      `[stall] frozen ${FREEZE_MS} ms, idle-in-transaction timeout ${IDLE_TIMEOUT_MS} ms: ` +
        `unrelated ack on the other process ${intoY.ms.toFixed(0)} ms (baseline ${baseline.toFixed(0)} ms), ` +
        `held conversation's ack ${xDone.ms.toFixed(0)} ms`,
    );
    expect(intoY.ms).toBeLessThan(1000);
    // Before A wakes up: the server ended its session and freed X.
    expect(xDone.ms).toBeLessThan(FREEZE_MS - 500);

    // A wakes up to a dead session: its send is committed anyway (retried), once.
    const aAck = await ackOf(onA, 'a1', FREEZE_MS + 15_000);
    storeA.afterLock = null;
    const { messages } = await chatHistory(a, alice, x);
    expect(messages.map((m) => m.content).sort()).toEqual(['from the frozen process', 'into the held conversation']);
    expect(messages.map((m) => m.seq)).toEqual([1, 2]);
    expect([aAck.data.seq, xDone.ack.data.seq].sort()).toEqual([1, 2]);
    for (const s of [onA, bobOnB, carolOnB]) s.close();
  }, 60_000);
});
