import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/core/events.js';
import type { Message } from '../../src/core/model.js';
import { FILL_ATTEMPTS, SeqOrderer } from '../../src/delivery/ordering.js';
import { eventually, sleep } from '../helpers/clients.js';

// SeqOrderer on its own: events of one conversation, as a bus brings them from several
// publishers, come out in change_seq order, missing changes read back, nothing twice.

const ref = { id: 1, uuid: 'c', tenantId: 1, kind: 'group' as const, pair: null };
const sender = { id: 7, uuid: 'u', name: 'U', email: 'u@x', avatarUrl: null };
const msg = (seq: number, changeSeq: number, extra: Partial<Message> = {}): Message => ({
  id: seq,
  uuid: `m${seq}`,
  conversationId: 1,
  seq,
  changeSeq,
  senderId: 7,
  kind: 'text',
  content: `m${seq}`,
  replyToId: null,
  replyToUuid: null,
  clientId: null,
  createdAt: 0,
  editedAt: null,
  deletedAt: null,
  attachments: [],
  reactions: [],
  replyCount: 0,
  ...extra,
});
const created = (seq: number, changeSeq = seq, retry = false): DomainEvent => ({ type: 'message.created', conversation: ref, message: msg(seq, changeSeq), sender, localTempId: null, ...(retry ? { retry } : {}) });
const edited = (seq: number, changeSeq: number): DomainEvent => ({ type: 'message.updated', conversation: ref, message: msg(seq, changeSeq, { content: 'edited', editedAt: 1 }), sender, readSeqs: null });
const typing: DomainEvent = { type: 'typing', conversation: ref, user: sender, isTyping: true, typingUserIds: [7] };

const shown = (out: DomainEvent[]) => out.map((e) => (e.type === 'typing' ? 'typing' : `${e.type === 'message.created' ? 'new' : 'upd'}:${'message' in e ? e.message.seq : ''}`));
const tick = (ms: number) => sleep(ms);

function orderer(store: DomainEvent[] = []) {
  const out: DomainEvent[] = [];
  const fills: [number, number, number][] = [];
  const o = new SeqOrderer(
    (e) => out.push(e),
    async (_c, after, upTo, newFrom) => {
      fills.push([after, upTo, newFrom]);
      return store.filter((e) => 'message' in e && e.message.changeSeq > after && e.message.changeSeq <= upTo);
    },
    30,
  );
  return { o, out, fills };
}

describe('SeqOrderer', () => {
  it('passes events in order straight through', () => {
    const { o, out } = orderer();
    o.begin(1, { lastSeq: 0, changeSeq: 0 });
    for (const e of [created(1), typing, created(2), edited(1, 3)]) o.push(1, e);
    expect(shown(out)).toEqual(['new:1', 'typing', 'new:2', 'upd:1']);
  });

  it('holds an event that overtook an earlier one, and what came after it, until the earlier one arrives', () => {
    const { o, out, fills } = orderer();
    o.begin(1, { lastSeq: 0, changeSeq: 0 });
    o.push(1, created(2));
    o.push(1, typing);
    expect(shown(out)).toEqual([]);
    o.push(1, created(1));
    expect(shown(out)).toEqual(['new:1', 'new:2', 'typing']);
    expect(fills).toEqual([]);
  });

  it('reads a change that never comes from the store after the wait, and drops its late copy', async () => {
    const { o, out, fills } = orderer([created(1), created(2)]);
    o.begin(1, { lastSeq: 0, changeSeq: 0 });
    o.push(1, created(3));
    await tick(60);
    expect(fills).toEqual([[0, 2, 1]]);
    expect(shown(out)).toEqual(['new:1', 'new:2', 'new:3']);
    o.push(1, created(2)); // the live copy, late
    o.push(1, created(3, 3, true)); // a retry of what was delivered
    o.push(1, created(4));
    expect(shown(out)).toEqual(['new:1', 'new:2', 'new:3', 'new:4']);
  });

  it('a retry of a message whose first publish was lost is delivered, once', () => {
    const { o, out } = orderer();
    o.begin(1, { lastSeq: 0, changeSeq: 0 });
    o.push(1, created(1, 1, true));
    o.push(1, created(1, 1, true));
    expect(shown(out)).toEqual(['new:1']);
  });

  it('a change of a message never shown here shows the message as new first', async () => {
    // Message 1 was created and edited while the publishes were lost: the store has it edited.
    const { o, out } = orderer([]);
    o.begin(1, { lastSeq: 0, changeSeq: 0 });
    o.push(1, edited(1, 2));
    await tick(60);
    expect(shown(out)).toEqual(['new:1', 'upd:1']);
  });

  it('starting from a cursor, older events are dropped; started by an event, the first ones wait together and go out in order', async () => {
    const exact = orderer();
    exact.o.begin(1, { lastSeq: 5, changeSeq: 5 });
    exact.o.push(1, created(5));
    exact.o.push(1, created(6));
    expect(shown(exact.out)).toEqual(['new:6']);
    // No cursor, and the first two overtook each other: the later one used to go out first,
    // and the earlier one after it, below what the sockets had already been shown.
    const lazy = orderer();
    lazy.o.push(1, created(6));
    lazy.o.push(1, typing);
    lazy.o.push(1, created(5));
    expect(shown(lazy.out)).toEqual([]);
    await eventually(() => expect(shown(lazy.out)).toEqual(['new:5', 'new:6', 'typing']));
    lazy.o.push(1, created(7));
    expect(shown(lazy.out)).toEqual(['new:5', 'new:6', 'typing', 'new:7']);
  });

  it('a gap whose read fails is read again, later each time, and then delivered in order', async () => {
    const out: DomainEvent[] = [];
    let calls = 0;
    const lost: number[] = [];
    const o = new SeqOrderer(
      (e) => out.push(e),
      async (_c, after, upTo) => {
        if (++calls <= 2) throw new Error('database unavailable');
        return [created(1), created(2)].filter((e) => 'message' in e && e.message.changeSeq > after && e.message.changeSeq <= upTo);
      },
      20,
      () => {},
      (id) => lost.push(id),
    );
    o.begin(1, { lastSeq: 0, changeSeq: 0 });
    o.push(1, created(3));
    o.push(1, created(4));
    await eventually(() => expect(shown(out)).toEqual(['new:1', 'new:2', 'new:3', 'new:4']), { timeoutMs: 5_000 });
    expect(calls).toBe(3);
    expect(lost).toEqual([]);
  });

  it(`a gap that cannot be read after ${FILL_ATTEMPTS} tries is given up with what waits behind it, and its followers told to resync`, async () => {
    const out: DomainEvent[] = [];
    let calls = 0;
    const lost: number[] = [];
    const o = new SeqOrderer(
      (e) => out.push(e),
      async () => {
        calls++;
        throw new Error('database unavailable');
      },
      10,
      () => {},
      (id) => lost.push(id),
    );
    o.begin(1, { lastSeq: 0, changeSeq: 0 });
    o.push(1, created(2));
    await eventually(() => expect(lost).toEqual([1]), { timeoutMs: 5_000 });
    expect(calls).toBe(FILL_ATTEMPTS);
    expect(out).toEqual([]);
    expect(o.waiting).toBe(0);
  });

  it('forget drops the waiting events of a conversation no one follows here any more', async () => {
    const { o, out, fills } = orderer([created(1)]);
    o.begin(1, { lastSeq: 0, changeSeq: 0 });
    o.push(1, created(2));
    expect(o.waiting).toBe(1);
    o.forget(1);
    await tick(60);
    expect(fills).toEqual([]);
    expect(out).toEqual([]);
    expect(o.waiting).toBe(0);
  });
});
