import type { Store, ThreadState } from '../../backends/store/store.js';
import type { EventPublisher } from '../events.js';
import type { MessageKey, Messages } from '../messages/messages.js';
import type { Id, Message, User, UserSummary } from '../model.js';

/** A thread as its reader sees it: the root message, its sender, and the reader's state. */
export interface ThreadView {
  root: Message;
  sender: UserSummary;
  state: ThreadState;
}

/** Most threads a Threads list shows. */
export const THREAD_LIST_MAX = 100;

/**
 * Threads: the replies to one message (its reply_to_id), read and followed per user. A reply
 * is an ordinary message (Messages.send with replyTo); replying makes its sender follow the
 * thread and the root's author follow it (the store does it with the append).
 */
export class Threads {
  constructor(
    readonly store: Store,
    readonly messages: Messages,
    readonly events: EventPublisher,
  ) {}

  /** The thread of `rootKey` for the actor; `message_not_found` unless they can see the root. */
  async view(actor: User, rootKey: MessageKey): Promise<ThreadView> {
    const { message, sender } = await this.messages.get(actor, rootKey);
    return { root: message, sender, state: await this.#state(actor, message.id) };
  }

  async #state(actor: User, rootId: Id): Promise<ThreadState> {
    return (await this.store.threadStates(actor.id, [rootId])).get(rootId)!;
  }

  /** The replies after `afterSeq`, oldest first; at most 201 (a page of 200 and whether more follow). */
  async replies(actor: User, rootKey: MessageKey, afterSeq: number, limit: number): Promise<{ view: ThreadView; replies: Message[]; senders: ReadonlyMap<Id, UserSummary> }> {
    const view = await this.view(actor, rootKey);
    const replies = await this.store.threadReplies(view.root.id, Math.max(0, afterSeq), Math.min(Math.max(1, limit), 201));
    return { view, replies, senders: await this.messages.users.named(replies.map((m) => m.senderId)) };
  }

  /** The threads the actor follows, latest reply first, with their unread replies. */
  async list(actor: User, limit = THREAD_LIST_MAX): Promise<ThreadView[]> {
    const states = await this.store.followedThreads(actor.id, Math.min(Math.max(1, limit), THREAD_LIST_MAX));
    const roots = await Promise.all(states.map((s) => this.store.messageById(s.rootId)));
    const senders = await this.messages.users.named(roots.flatMap((r) => (r ? [r.senderId] : [])));
    return states.flatMap((state, i) => {
      const root = roots[i];
      return root ? [{ root, sender: senders.get(root.senderId)!, state }] : [];
    });
  }

  /** Moves the actor's place in the thread up to `seq` (default: its last reply); never back. */
  async markRead(actor: User, rootKey: MessageKey, seq?: number): Promise<ThreadState> {
    const { root, state } = await this.view(actor, rootKey);
    const top = state.lastReplySeq ?? root.seq;
    const target = Math.min(seq ?? top, top);
    if (target <= state.readSeq) return state;
    await this.store.markThreadRead(actor.id, root.id, root.conversationId, target, Date.now());
    return this.announce(actor, root.id);
  }

  /** Follows or unfollows; a thread followed anew starts read up to its last reply. */
  async follow(actor: User, rootKey: MessageKey, on: boolean): Promise<ThreadState> {
    const { root, state } = await this.view(actor, rootKey);
    await this.store.setThreadFollowing(actor.id, root.id, root.conversationId, on, state.lastReplySeq ?? root.seq, Date.now());
    return this.announce(actor, root.id);
  }

  /** The actor's state now, told to each of their devices (after something changed it: a read, a follow, a reply hidden). */
  async announce(actor: User, rootId: Id): Promise<ThreadState> {
    const s = await this.#state(actor, rootId);
    this.events.publishToUsers([actor.id], {
      type: 'thread.changed',
      userId: actor.id,
      conversationId: s.conversationId,
      rootId,
      readSeq: s.readSeq,
      unreadCount: s.unreadCount,
      following: s.following,
    });
    return s;
  }
}
