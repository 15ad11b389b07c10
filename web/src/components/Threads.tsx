import { useEffect, useRef, useState } from 'preact/hooks';
import type { Message, Thread } from '@parley/sdk';
import { formatTime, messageSummary } from '../format.js';
import { Icon } from '../icons.js';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { Dialog } from './Dialog.js';
import { RichText } from './Message.js';

/** A thread chosen in the Threads list, for the conversation view that opens next (or is open). */
const requests = new Map<number, Message>();
const listeners = new Map<number, (root: Message) => void>();

export function requestThread(root: Message): void {
  const listener = listeners.get(root.conversation_id);
  if (listener) listener(root);
  else requests.set(root.conversation_id, root);
}

/** Calls `show` with a thread of conversation `id` chosen in the Threads list (now, or later). */
export function onThreadRequest(id: number, show: (root: Message) => void): () => void {
  const waiting = requests.get(id);
  requests.delete(id);
  if (waiting) show(waiting);
  listeners.set(id, show);
  return () => void (listeners.get(id) === show && listeners.delete(id));
}

/** One message of a thread panel: sender, text, time (the menu and reactions stay in the conversation). */
function ThreadMessage({ m, testId }: { m: Message; testId: string }) {
  return (
    <div class={`thread-msg${m.deleted_at ? ' deleted' : ''}`} data-testid={testId} data-message-id={m.id} data-seq={m.seq}>
      <div class="thread-msg-head">
        <strong>{m.sender.name}</strong> <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
      </div>
      <p class="text">{m.deleted_at ? <em>This message was deleted</em> : <RichText text={m.content ?? messageSummary(m)} />}</p>
    </div>
  );
}

/**
 * A thread beside its conversation: the root, its replies, a box to reply there, and
 * follow/unfollow. Opening it reads its replies (the thread's own place, not the conversation's).
 */
export function ThreadPanel({ root, onClose }: { root: Message; onClose: () => void }) {
  const { client, toast } = useUi();
  const [thread, setThread] = useState<Thread | null>(null);
  const [replies, setReplies] = useState<Message[]>([]);
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);

  const load = async () => {
    const page = await client.rest.getThreadReplies(root.id, { limit: 200 });
    setReplies(page.replies);
    const last = page.replies.at(-1);
    setThread(last && page.thread.read_seq < last.seq ? await client.rest.markThreadRead(root.id) : page.thread);
  };
  useEffect(() => {
    load().catch((e) => toast(`Could not load the thread: ${errorText(e)}`));
    // New replies (and changes of them) while it is open.
    const offs = [
      client.on('message', (f) => f.message.reply_to_id === root.id && void load().catch(() => {})),
      client.on('message_changed', (f) => f.message.reply_to_id === root.id && void load().catch(() => {})),
    ];
    input.current?.focus();
    return () => offs.forEach((off) => off());
  }, [root.id]);

  const follow = () =>
    (thread?.following ? client.rest.unfollowThread(root.id) : client.rest.followThread(root.id)).then(setThread, (e) => toast(`Could not change following: ${errorText(e)}`));
  const send = () => {
    const content = text.trim();
    if (!content) return;
    setText('');
    client.send(root.conversation_id, { content, replyToId: root.id });
  };
  return (
    <aside class="thread-panel" aria-label="Thread" data-testid="thread-panel">
      <header class="thread-header">
        <h3>Thread</h3>
        <button type="button" class="secondary small" aria-pressed={!!thread?.following} onClick={follow} data-testid="thread-follow">
          {thread?.following ? 'Unfollow' : 'Follow'}
        </button>
        <button type="button" class="icon-button" aria-label="Close the thread" onClick={onClose} data-testid="thread-close">
          <Icon name="back" />
        </button>
      </header>
      <div class="thread-body" role="log" aria-label="Replies">
        <ThreadMessage m={root} testId="thread-root" />
        <p class="thread-count" data-testid="thread-reply-count">
          {replies.length === 1 ? '1 reply' : `${replies.length} replies`}
        </p>
        {replies.map((m) => (
          <ThreadMessage key={m.id} m={m} testId="thread-reply" />
        ))}
      </div>
      <form
        class="thread-composer"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <textarea
          ref={input}
          rows={1}
          value={text}
          placeholder="Reply in thread…"
          aria-label="Reply in thread"
          data-testid="thread-input"
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" class="primary" data-testid="thread-send">
          Reply
        </button>
      </form>
    </aside>
  );
}

/** The threads I follow, with their unread replies; choosing one opens its conversation and the thread. */
export function ThreadsDialog({ onClose, onOpen }: { onClose: () => void; onOpen: (t: Thread) => void }) {
  const { client, toast } = useUi();
  const [threads, setThreads] = useState<Thread[] | null>(null);
  useEffect(() => {
    const load = () => client.rest.listThreads().then(setThreads, (e) => toast(`Could not load threads: ${errorText(e)}`));
    void load();
    const offs = [client.on('thread', () => void load()), client.on('message', (f) => f.message.reply_to_id !== null && void load())];
    return () => offs.forEach((off) => off());
  }, []);
  return (
    <Dialog title="Threads" onClose={onClose} testId="threads-dialog">
      <div class="dialog-body">
        {threads === null ? (
          <p role="status">Loading…</p>
        ) : threads.length === 0 ? (
          <p class="muted">No threads yet. Reply to a message in a thread, or follow one.</p>
        ) : (
          <ul class="threads-list">
            {threads.map((t) => (
              <li key={t.root.id}>
                <button type="button" class={`row${t.unread_count > 0 ? ' unread' : ''}`} data-testid="thread-item" data-root-id={t.root.id} onClick={() => onOpen(t)}>
                  <span class="row-main">
                    <span class="row-title">{t.root.sender.name}: {messageSummary(t.root)}</span>
                    <span class="row-sub">{t.reply_count === 1 ? '1 reply' : `${t.reply_count} replies`}</span>
                  </span>
                  {t.unread_count > 0 && (
                    <span class="badge" data-testid="thread-unread" aria-label={`${t.unread_count} unread replies`}>
                      {t.unread_count}
                    </span>
                  )}
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Dialog>
  );
}
