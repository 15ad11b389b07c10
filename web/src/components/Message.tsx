import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Attachment, Conversation, Message, MessageStatus, PendingMessage } from '@parley/sdk';
import { formatDuration, formatSize, formatTime, messageSummary } from '../format.js';
import { Icon } from '../icons.js';
import { Markdown } from '../markdown.js';
import { useUi } from '../ui.js';
import { CurationMenuItems, EditedMark } from './Curation.js';
import { ReasonDialog } from './admin/ReasonDialog.js';
import { errorText } from '../session.js';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

/** Local previews of the files of sends not acknowledged yet, by local_temp_id. */
export const pendingPreviews = new Map<string, { name: string; url: string | null; kind: 'image' | 'voice' | 'file' }[]>();

/** Message text without Markdown: text nodes, http(s) links and @mentions (it lives beside Markdown now). */
export { RichText } from '../markdown.js';

const STATUS_TEXT: Record<MessageStatus, string> = { pending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read' };

export function Ticks({ status }: { status: MessageStatus }) {
  return (
    <span class={`ticks ${status}`} data-testid="message-status" data-status={status} role="img" aria-label={STATUS_TEXT[status]} title={STATUS_TEXT[status]}>
      {status === 'pending' ? '🕓' : status === 'sent' ? '✓' : '✓✓'}
    </span>
  );
}

export interface MessageActions {
  onReply(m: Message): void;
  onEdit(m: Message): void;
  onDelete(m: Message): void;
  /** "Mark as unread" from this message. */
  onMarkUnread?(m: Message): void;
  /** Opens the thread of this message. */
  onThread?(m: Message): void;
}

export function MessageItem({
  m,
  conv,
  showSender,
  actions,
}: {
  m: Message;
  conv: Conversation;
  showSender: boolean;
  actions: MessageActions;
}) {
  const { client, toast } = useUi();
  const me = client.user;
  const own = m.sender.id === me?.id;
  const deleted = m.deleted_at !== null;
  const status = own ? client.state.statusOf(m) : null;
  const mod = conv.kind !== 'direct' && (conv.my_role === 'admin' || conv.my_role === 'moderator');
  const canEdit = own && !deleted && (m.kind === 'text' || m.kind === 'emoji');
  const canDelete = !deleted && (own || mod);

  const toggle = (emoji: string) => {
    const mine = m.reactions.some((r) => r.emoji === emoji && me && r.user_ids.includes(me.id));
    (mine ? client.unreact(m.id, emoji) : client.react(m.id, emoji)).catch((e) => toast(`Could not react: ${(e as Error).message}`));
  };

  return (
    <div
      class={`msg ${own ? 'own' : 'other'}${deleted ? ' deleted' : ''}`}
      id={`message-${m.id}`}
      data-testid="message"
      data-message-id={m.id}
      data-seq={m.seq}
    >
      <div class="bubble">
        {showSender && !own && (
          <div class="sender">
            {m.sender.name}
            {m.sender.is_bot && (
              <span class="bot-badge" data-testid="bot-badge" title="A bot: posts through an API key or an incoming webhook">
                BOT
              </span>
            )}
          </div>
        )}
        {m.reply_to_id !== null && !deleted && <ReplyQuote id={m.reply_to_id} />}
        {deleted ? (
          <p class="text deleted-text" data-testid="deleted-placeholder">
            This message was deleted
            {m.deleted_reason && <span data-testid="deleted-reason"> by a moderator: {m.deleted_reason}</span>}
          </p>
        ) : (
          <>
            {m.attachments.length > 0 && <Attachments m={m} />}
            {m.content && (
              <p class={`text${m.kind === 'emoji' ? ' emoji-only' : ''}`} data-testid="message-text">
                <Markdown text={m.content} />
              </p>
            )}
          </>
        )}
        <span class="meta">
          {m.edited_at && !deleted && <EditedMark m={m} />}
          <time dateTime={m.created_at}>{formatTime(m.created_at)}</time>
          {status && <Ticks status={status} />}
        </span>
      </div>
      {!deleted && m.reactions.length > 0 && (
        <div class="reactions" role="group" aria-label="Reactions">
          {m.reactions.map((r) => {
            const mine = !!me && r.user_ids.includes(me.id);
            return (
              <button
                key={r.emoji}
                type="button"
                class={`reaction${mine ? ' mine' : ''}`}
                aria-pressed={mine}
                aria-label={`${r.emoji} ${r.count}${mine ? ', yours: click to remove' : ''}`}
                data-testid="reaction"
                data-emoji={r.emoji}
                onClick={() => toggle(r.emoji)}
              >
                <span aria-hidden="true">{r.emoji}</span> <span aria-hidden="true">{r.count}</span>
              </button>
            );
          })}
        </div>
      )}
      {m.reply_count > 0 && actions.onThread && (
        <button type="button" class="text-button thread-link" onClick={() => actions.onThread!(m)} data-testid="thread-link">
          {m.reply_count === 1 ? '1 reply' : `${m.reply_count} replies`}
        </button>
      )}
      {!deleted && <MessageMenu m={m} conv={conv} canEdit={canEdit} canDelete={canDelete} onReact={toggle} actions={actions} />}
    </div>
  );
}

/** An own send not acknowledged yet. */
export function PendingItem({ p }: { p: PendingMessage }) {
  const previews = pendingPreviews.get(p.local_temp_id) ?? [];
  return (
    <div class="msg own pending" data-testid="message" data-pending="true" data-local-temp-id={p.local_temp_id}>
      <div class="bubble">
        {previews.length > 0 && (
          <div class="attachments">
            {previews.map((f, i) =>
              f.kind === 'image' && f.url ? (
                <img key={i} class="thumb-img" src={f.url} alt={f.name} />
              ) : (
                <span key={i} class="file">
                  <Icon name={f.kind === 'voice' ? 'mic' : 'file'} />
                  <span class="file-name">{f.name}</span>
                </span>
              ),
            )}
          </div>
        )}
        {p.content && (
          <p class={`text${p.kind === 'emoji' ? ' emoji-only' : ''}`} data-testid="message-text">
            <Markdown text={p.content} />
          </p>
        )}
        <span class="meta">
          <time dateTime={p.created_at}>{formatTime(p.created_at)}</time>
          <Ticks status="pending" />
        </span>
      </div>
    </div>
  );
}

/** The message a reply answers: from the state, else fetched once. */
const fetched = new Map<number, Message | null>();

function ReplyQuote({ id }: { id: number }) {
  const { client } = useUi();
  const known = client.state.message(id) ?? fetched.get(id);
  const [, setTick] = useState(0);
  useEffect(() => {
    if (known !== undefined || fetched.has(id)) return;
    client.getMessage(id).then(
      (m) => {
        fetched.set(id, m);
        setTick((t) => t + 1);
      },
      () => {
        fetched.set(id, null);
        setTick((t) => t + 1);
      },
    );
  }, [id, known === undefined]);
  const jump = () => {
    const el = document.getElementById(`message-${id}`);
    if (!el) return;
    el.scrollIntoView({ block: 'center', behavior: 'smooth' });
    el.classList.add('flash');
    setTimeout(() => el.classList.remove('flash'), 1200);
  };
  return (
    <button type="button" class="reply-quote" data-testid="reply-quote" onClick={jump} aria-label={known ? `Reply to ${known.sender.name}: ${messageSummary(known)}` : 'Reply to a message'}>
      <span class="reply-sender">{known ? known.sender.name : '…'}</span>
      <span class="reply-text">{known ? messageSummary(known) : known === null ? 'Message not available' : 'Loading…'}</span>
    </button>
  );
}

/**
 * A message's files. Their URLs are signed and expire (FILE_URL_TTL_SECONDS): one that no
 * longer loads is asked for again once, with fresh URLs.
 */
function Attachments({ m }: { m: Message }) {
  const { client, openImage } = useUi();
  const [fresh, setFresh] = useState<{ changeSeq: number; list: Attachment[] } | null>(null);
  const retried = useRef(false);
  const list = fresh && fresh.changeSeq >= m.change_seq ? fresh.list : m.attachments;
  const refresh = () => {
    if (retried.current) return;
    retried.current = true;
    client.getMessage(m.id).then(
      (again) => setFresh({ changeSeq: again.change_seq, list: again.attachments }),
      () => {},
    );
  };
  return (
    <div class="attachments">
      {list.map((a) => {
        if (a.kind === 'image') {
          const w = a.width ?? 240;
          const h = a.height ?? 180;
          return (
            <button key={a.id} type="button" class="thumb" aria-label={`Open image ${a.name}`} onClick={() => openImage({ url: a.url, name: a.name })}>
              <img
                class="thumb-img"
                src={a.thumbnail_url ?? a.url}
                alt={a.name}
                width={w}
                height={h}
                style={{ aspectRatio: `${w} / ${h}` }}
                data-testid="image-thumbnail"
                onError={refresh}
              />
            </button>
          );
        }
        if (a.kind === 'voice') {
          return (
            <div key={a.id} class="voice" data-testid="voice-message">
              <audio controls preload="metadata" src={a.url} aria-label={`Voice message, ${formatDuration(a.duration)}`} onError={refresh} />
              <span class="duration" data-testid="voice-duration">
                {formatDuration(a.duration)}
              </span>
            </div>
          );
        }
        return (
          <a key={a.id} class="file" href={a.url} target="_blank" rel="noopener noreferrer" download={a.name} data-testid="file-attachment">
            <Icon name="file" />
            <span class="file-name">{a.name}</span>
            <small>{formatSize(a.size)}</small>
          </a>
        );
      })}
    </div>
  );
}

/** One button per message; a menu of what can be done to it (arrows move, Escape closes). */
function MessageMenu({
  m,
  conv,
  canEdit,
  canDelete,
  onReact,
  actions,
}: {
  m: Message;
  conv: Conversation;
  canEdit: boolean;
  canDelete: boolean;
  onReact: (emoji: string) => void;
  actions: MessageActions;
}) {
  const [open, setOpen] = useState(false);
  const [reporting, setReporting] = useState(false);
  const { client, toast } = useUi();
  const trigger = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  // Focus moves into the menu in the same commit that shows it (a keyboard user never
  // lands on the menu with focus still on the trigger).
  useLayoutEffect(() => {
    if (open) menu.current?.querySelector<HTMLElement>('[role=menuitem]')?.focus();
  }, [open]);
  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (!menu.current?.contains(e.target as Node) && !trigger.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);
  const close = (focus = true) => {
    setOpen(false);
    if (focus) trigger.current?.focus();
  };
  const run = (f: () => void) => () => {
    close(false);
    f();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? [])];
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowRight') {
      e.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    } else if (e.key === 'Tab') close(false);
  };
  return (
    <div class="msg-menu">
      <button
        ref={trigger}
        type="button"
        class="icon-button small"
        aria-label="Message actions"
        aria-haspopup="menu"
        aria-expanded={open}
        data-testid="message-actions"
        onClick={() => setOpen(!open)}
      >
        <Icon name="more" size={18} />
      </button>
      {open && (
        <div class="menu" role="menu" aria-label="Message actions" ref={menu} onKeyDown={onKeyDown}>
          <div class="menu-reactions">
            {QUICK_REACTIONS.map((e) => (
              <button key={e} type="button" role="menuitem" aria-label={`React with ${e}`} onClick={run(() => onReact(e))}>
                {e}
              </button>
            ))}
          </div>
          <button type="button" role="menuitem" onClick={run(() => actions.onReply(m))}>
            <Icon name="reply" size={16} /> Reply
          </button>
          {actions.onThread && (
            <button type="button" role="menuitem" onClick={run(() => actions.onThread!(m))} data-testid="menu-thread">
              Open thread
            </button>
          )}
          {actions.onMarkUnread && (
            <button type="button" role="menuitem" onClick={run(() => actions.onMarkUnread!(m))} data-testid="menu-mark-unread">
              Mark as unread
            </button>
          )}
          {canEdit && (
            <button type="button" role="menuitem" onClick={run(() => actions.onEdit(m))}>
              ✎ Edit
            </button>
          )}
          <CurationMenuItems m={m} conv={conv} run={run} onReport={() => setReporting(true)} />
          {canDelete && (
            <button type="button" role="menuitem" class="danger" onClick={run(() => actions.onDelete(m))}>
              <Icon name="trash" size={16} /> Delete
            </button>
          )}
        </div>
      )}
      {reporting && (
        <ReasonDialog
          title="Report this message"
          action="Report"
          onSubmit={(reason) =>
            void client.rest.reportMessage(m.id, reason || 'No reason given').then(
              () => toast('Reported to the moderators'),
              (e) => toast(`Could not report: ${errorText(e)}`),
            )
          }
          onClose={() => setReporting(false)}
        />
      )}
    </div>
  );
}
