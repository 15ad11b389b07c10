import type { Store } from '../../backends/store/store.js';
import type { Message } from '../model.js';

/** Deleted messages with the reason a moderator gave, when one did (history, live frames and catch-up alike). */
export async function withRemovals(store: Pick<Store, 'deletionsOf'>, messages: Message[]): Promise<Message[]> {
  const deleted = messages.filter((m) => m.deletedAt !== null).map((m) => m.id);
  const removals = deleted.length === 0 ? new Map() : await store.deletionsOf(deleted);
  return removals.size === 0 ? messages : messages.map((m) => (removals.has(m.id) ? { ...m, removal: removals.get(m.id) } : m));
}
