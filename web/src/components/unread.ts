import { useEffect, useRef } from 'preact/hooks';
import type { Conversation, Message, ParleyClient } from '@parley/sdk';

/** The divider above the first unread message, as MessageList renders it. */
export const NEW_MESSAGES_ID = 'new-messages';

/**
 * The highest seq whose message is on screen in `scroller` (at least half of it shown), or 0.
 * Only what was shown is read: a conversation opened far from its end is not read to the end.
 */
export function lastShownSeq(scroller: HTMLElement): number {
  const view = scroller.getBoundingClientRect();
  let top = 0;
  for (const el of scroller.querySelectorAll<HTMLElement>('[data-testid=message][data-seq]')) {
    const r = el.getBoundingClientRect();
    const shown = Math.min(r.bottom, view.bottom) - Math.max(r.top, view.top);
    if (shown >= Math.min(r.height / 2, view.height / 2)) top = Math.max(top, Number(el.dataset.seq));
  }
  return top;
}

/**
 * Marks read what is on screen while the page is visible (after every render, scroll and
 * return to the tab), unless `held` ("mark as unread" was chosen: the place stays until the
 * conversation is opened again).
 */
export function useReadWhatIsShown(client: ParleyClient, conv: Conversation, scroller: { current: HTMLElement | null }, held: boolean): () => void {
  const asked = useRef(0);
  const check = () => {
    const el = scroller.current;
    if (held || !el || document.visibilityState !== 'visible') return;
    const seq = lastShownSeq(el);
    if (seq <= Math.max(conv.my_seen_seq, asked.current)) return;
    asked.current = seq;
    client.markRead(conv.id, seq).catch(() => (asked.current = 0));
  };
  useEffect(() => {
    if (held) asked.current = 0;
  }, [held]);
  useEffect(check);
  useEffect(() => {
    document.addEventListener('visibilitychange', check);
    return () => document.removeEventListener('visibilitychange', check);
  });
  return check;
}

/** Loads older pages until message `seq` is in the state (or there is nothing older). */
export async function loadUntil(client: ParleyClient, conversationId: number, seq: number): Promise<void> {
  const first = (list: Message[]) => list[0]?.seq ?? Infinity;
  while (first(client.state.messages(conversationId)) > seq && client.state.hasMore(conversationId)) await client.loadOlder(conversationId, 50);
}
