import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Conversation, Message } from '@parley/sdk';
import { dayKey, dayLabel } from '../format.js';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { MessageItem, PendingItem, type MessageActions } from './Message.js';
import { loadUntil, NEW_MESSAGES_ID, useReadWhatIsShown } from './unread.js';

const GROUP_MS = 5 * 60_000;

/**
 * The history: newest at the bottom, older pages loaded as you scroll up (keeping what you
 * look at in place), following new messages while you are at the bottom.
 */
export function MessageList({ conv, ready, actions, markedFrom }: { conv: Conversation; ready: boolean; actions: MessageActions; markedFrom: number | null }) {
  const { client, toast } = useUi();
  const id = conv.id;
  const messages = client.state.messages(id);
  const pending = client.state.pending(id);
  const hasMore = client.state.hasMore(id);
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [showJump, setShowJump] = useState(false);
  const loading = useRef(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  /** The message that was on top before older ones came, and where it was on screen. */
  const anchor = useRef<{ id: number; offset: number } | null>(null);
  /** The first unread when the conversation was opened (or where "mark as unread" put it): the "New messages" line. */
  const firstAtOpen = useRef<number | null | undefined>(undefined);
  if (firstAtOpen.current === undefined) firstAtOpen.current = conv.first_unread_seq;
  const first = markedFrom ?? firstAtOpen.current;
  const [dividerAway, setDividerAway] = useState(false);
  const pendingCount = useRef(pending.length);
  // Nothing is read before the page has landed where it opens (the first unread, or the end).
  const [settled, setSettled] = useState(first === null);
  const readShown = useReadWhatIsShown(client, conv, scroller, markedFrom !== null || !settled);

  /** Shows the first unread message under its divider, loading older pages up to it. */
  const jumpToFirstUnread = async () => {
    if (first === null) return;
    await loadUntil(client, id, first).catch((e) => toast(`Could not load older messages: ${errorText(e)}`));
    requestAnimationFrame(() => {
      const line = document.getElementById(NEW_MESSAGES_ID);
      if (!line) return;
      atBottom.current = false;
      line.scrollIntoView({ block: 'start' });
      setDividerAway(false);
      setSettled(true);
    });
  };
  // Opening lands on the first unread (not the bottom) once the newest page is there.
  const landed = useRef(false);
  useEffect(() => {
    if (!ready || landed.current) return;
    landed.current = true;
    if (first === null) return;
    atBottom.current = false;
    void jumpToFirstUnread();
  }, [ready]);

  const toBottom = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  };

  const loadOlder = async () => {
    if (loading.current || !client.state.hasMore(id)) return;
    const el = scroller.current;
    const first = client.state.messages(id)[0];
    if (el && first) {
      const node = document.getElementById(`message-${first.id}`);
      if (node) anchor.current = { id: first.id, offset: node.offsetTop - el.scrollTop };
    }
    loading.current = true;
    setLoadingOlder(true);
    try {
      await client.loadOlder(id, 30);
    } catch (e) {
      anchor.current = null;
      toast(`Could not load older messages: ${errorText(e)}`);
    } finally {
      loading.current = false;
      setLoadingOlder(false);
    }
  };

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const a = anchor.current;
    if (a && messages[0]?.id !== a.id) {
      const node = document.getElementById(`message-${a.id}`);
      if (node) el.scrollTop = node.offsetTop - a.offset;
      anchor.current = null;
      return;
    }
    // An own send (it was just typed): show it.
    if (pending.length > pendingCount.current) atBottom.current = true;
    pendingCount.current = pending.length;
    if (atBottom.current && !(first !== null && !landed.current)) toBottom();
  });

  // Images and the like change heights after rendering: keep to the bottom while there.
  useEffect(() => {
    if (!content.current || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => atBottom.current && toBottom());
    ro.observe(content.current);
    return () => ro.disconnect();
  }, []);

  // A first page shorter than the screen: fetch more until it scrolls (or there is no more).
  useEffect(() => {
    const el = scroller.current;
    if (ready && el && hasMore && !loadingOlder && el.scrollHeight <= el.clientHeight + 40) void loadOlder();
  }, [ready, hasMore, loadingOlder, messages.length]);

  const onScroll = () => {
    const el = scroller.current!;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    setShowJump(!atBottom.current);
    const line = document.getElementById(NEW_MESSAGES_ID);
    const box = el.getBoundingClientRect();
    setDividerAway(first !== null && (!line || line.getBoundingClientRect().bottom < box.top || line.getBoundingClientRect().top > box.bottom));
    readShown();
    if (el.scrollTop < 200 && hasMore) void loadOlder();
  };

  let prev: Message | null = null;
  let newLineShown = false;
  return (
    <div class="messages-wrap">
      <div class="messages" ref={scroller} onScroll={onScroll} role="log" aria-label="Messages" aria-busy={!ready || loadingOlder} tabIndex={0} data-testid="message-list">
        <div ref={content} class="messages-inner">
          {hasMore && (
            <div class="load-older">
              <button type="button" class="text-button" onClick={() => void loadOlder()} disabled={loadingOlder} data-testid="load-older">
                {loadingOlder ? 'Loading…' : 'Load earlier messages'}
              </button>
            </div>
          )}
          {!hasMore && ready && messages.length > 0 && <p class="history-start">This is the beginning of the conversation.</p>}
          {ready && messages.length === 0 && pending.length === 0 && <p class="history-start">No messages yet. Say hello!</p>}
          {messages.map((m) => {
            const newDay = !prev || dayKey(prev.created_at) !== dayKey(m.created_at);
            const grouped =
              !newDay && prev !== null && prev.sender.id === m.sender.id && Date.parse(m.created_at) - Date.parse(prev.created_at) < GROUP_MS;
            const showNew = !newLineShown && first !== null && m.seq >= first && !m.deleted_at;
            if (showNew) newLineShown = true;
            prev = m;
            return (
              <Fragment key={m.id}>
                {newDay && (
                  <div class="day-separator" role="separator" data-testid="day-separator">
                    <span>{dayLabel(m.created_at)}</span>
                  </div>
                )}
                {showNew && (
                  <div class="new-separator" role="separator" id={NEW_MESSAGES_ID} data-testid="new-messages">
                    <span>New messages</span>
                  </div>
                )}
                <MessageItem m={m} conv={conv} showSender={conv.kind !== 'direct' && !grouped} actions={actions} />
              </Fragment>
            );
          })}
          {pending.map((p) => (
            <PendingItem key={p.local_temp_id} p={p} />
          ))}
        </div>
      </div>
      {first !== null && dividerAway && (
        <button type="button" class="jump-unread" onClick={() => void jumpToFirstUnread()} data-testid="jump-first-unread">
          Jump to first unread
        </button>
      )}
      {showJump && (
        <button
          type="button"
          class="jump"
          aria-label="Jump to the latest messages"
          onClick={() => {
            atBottom.current = true;
            setShowJump(false);
            toBottom();
          }}
        >
          ↓
        </button>
      )}
    </div>
  );
}
