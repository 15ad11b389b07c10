import type { Id } from './model.js';

/**
 * Points where a test holds a racy step open — with a delay, or by making it fail — so a
 * race happens on purpose instead of once in a hundred runs. Nothing outside the tests sets
 * one: every hook is optional and an unset hook costs a property read.
 */
export interface RaceHooks {
  /** A catch-up (resume) has read the conversation's state and is about to read its messages and changes. */
  catchUp?(conversationId: Id): Promise<void>;
  /** A subscribe (Parley's socket) has read the user's conversations and is about to join this one. */
  subscribeJoin?(conversationId: Id): Promise<void>;
  /** A ban or mute has checked the target's role and is about to write the sanction. */
  sanctionChecked?(conversationId: Id, userId: Id): Promise<void>;
}
