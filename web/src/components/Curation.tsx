import { useEffect, useState } from 'preact/hooks';
import type { Conversation, Message, Pin, Revision, SavedItem } from '@parley/sdk';
import { formatTime, messageSummary } from '../format.js';
import { Icon } from '../icons.js';
import { useUi } from '../ui.js';
import { Dialog } from './Dialog.js';
import { RichText } from './Message.js';
import '../curation.css';

// Issue 18 in the web client: "edited" opens the revisions, pins per conversation, saved
// messages, delete for me. Kept out of Message.tsx and Conversation.tsx, which hold one line each.

const errorText = (e: unknown) => (e as Error).message;

/** Who may pin here: either person of a direct conversation, admins and moderators of a group or channel. */
export const mayPin = (conv: Conversation) => conv.kind === 'direct' || conv.my_role === 'admin' || conv.my_role === 'moderator';

/** The "edited" mark: a button that shows the message's earlier texts. */
export function EditedMark({ m }: { m: Message }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="edited linklike" data-testid="edited-mark" aria-label="Edited: show the earlier versions" onClick={() => setOpen(true)}>
        edited
      </button>
      {open && <RevisionsDialog m={m} onClose={() => setOpen(false)} />}
    </>
  );
}

function RevisionsDialog({ m, onClose }: { m: Message; onClose: () => void }) {
  const { client } = useUi();
  const [list, setList] = useState<Revision[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client.revisions(m.id).then((r) => setList(r.revisions), (e) => setError(errorText(e)));
  }, [m.id, m.change_seq]);
  return (
    <Dialog title="Edit history" onClose={onClose} testId="revisions-dialog">
      <div class="dialog-body">
        {error && <p role="alert">{error}</p>}
        {!list && !error && <p>Loading…</p>}
        {list && (
          <ol class="curation-list" data-testid="revisions">
            {list.map((r, i) => (
              <li key={i} data-testid="revision">
                <p class="curation-text">
                  <RichText text={r.content} />
                </p>
                <small>
                  {r.editor.name}, {formatTime(r.written_at)} · replaced {formatTime(r.replaced_at)}
                </small>
              </li>
            ))}
            <li class="current" data-testid="revision-current">
              <p class="curation-text">{m.content && <RichText text={m.content} />}</p>
              <small>Now, since {formatTime(m.edited_at ?? m.created_at)}</small>
            </li>
          </ol>
        )}
      </div>
    </Dialog>
  );
}

/** The message menu's curation items: pin or unpin, save, delete for me. `run` closes the menu first. */
export function CurationMenuItems({ m, conv, run, onReport }: { m: Message; conv: Conversation; run: (f: () => void) => () => void; onReport?: (m: Message) => void }) {
  const { client, toast } = useUi();
  const attempt = (what: string, p: Promise<unknown>, done?: string) =>
    p.then(
      () => done && toast(done),
      (e) => toast(`Could not ${what}: ${errorText(e)}`),
    );
  return (
    <>
      {mayPin(conv) && (
        <button type="button" role="menuitem" data-testid="pin-message" onClick={run(() => attempt('pin', client.pin(m.id), 'Pinned'))}>
          <Icon name="pin" size={16} /> Pin
        </button>
      )}
      <button type="button" role="menuitem" data-testid="save-message" onClick={run(() => attempt('save', client.save(m.id), 'Saved'))}>
        <Icon name="bookmark" size={16} /> Save
      </button>
      {onReport && m.sender.id !== client.user?.id && (
        <button
          type="button"
          role="menuitem"
          data-testid="report-message"
          onClick={run(() => onReport?.(m))}
        >
          <Icon name="flag" size={16} /> Report
        </button>
      )}
      <button type="button" role="menuitem" class="danger" data-testid="delete-for-me" onClick={run(() => attempt('delete', client.deleteMessageForMe(conv.id, m.id)))}>
        <Icon name="eyeOff" size={16} /> Delete for me
      </button>
    </>
  );
}

/** The header's "Pinned" button and its list (refreshed on every pin_changed of the conversation). */
export function PinnedButton({ conv }: { conv: Conversation }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="icon-button" aria-label="Pinned messages" title="Pinned messages" data-testid="pins-button" onClick={() => setOpen(true)}>
        <Icon name="pin" />
      </button>
      {open && <PinsDialog conv={conv} onClose={() => setOpen(false)} />}
    </>
  );
}

function PinsDialog({ conv, onClose }: { conv: Conversation; onClose: () => void }) {
  const { client, toast } = useUi();
  const [pins, setPins] = useState<Pin[] | null>(null);
  const load = () => client.pins(conv.id).then(setPins, (e) => toast(`Could not load the pins: ${errorText(e)}`));
  useEffect(() => {
    void load();
    return client.on('pin_changed', (f) => f.conversation_id === conv.id && void load());
  }, [conv.id]);
  const jump = (id: number) => {
    onClose();
    document.getElementById(`message-${id}`)?.scrollIntoView({ block: 'center' });
  };
  return (
    <Dialog title="Pinned messages" onClose={onClose} testId="pins-dialog">
      <div class="dialog-body">
        {pins?.length === 0 && <p data-testid="no-pins">Nothing is pinned here.</p>}
        <ul class="curation-list">
          {pins?.map((p) => (
            <li key={p.message.id} data-testid="pin">
              <button type="button" class="linklike curation-text" onClick={() => jump(p.message.id)}>
                <strong>{p.message.sender.name}:</strong> {messageSummary(p.message)}
              </button>
              <small>
                Pinned by {p.pinned_by.name}, {formatTime(p.pinned_at)}
              </small>
              {mayPin(conv) && (
                <button type="button" class="secondary small" data-testid="unpin" onClick={() => client.unpin(p.message.id).catch((e) => toast(`Could not unpin: ${errorText(e)}`))}>
                  Unpin
                </button>
              )}
            </li>
          ))}
        </ul>
      </div>
    </Dialog>
  );
}

/** The sidebar's "Saved" button and view: newest first, a page at a time. */
export function SavedButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="icon-button" aria-label="Saved messages" title="Saved messages" data-testid="saved-button" onClick={() => setOpen(true)}>
        <Icon name="bookmark" />
      </button>
      {open && <SavedDialog onClose={() => setOpen(false)} />}
    </>
  );
}

function SavedDialog({ onClose }: { onClose: () => void }) {
  const { client, toast, open } = useUi();
  const [items, setItems] = useState<SavedItem[]>([]);
  const [next, setNext] = useState<string | null | undefined>(undefined);
  const more = (before?: string) =>
    client.saved({ limit: 20, before }).then(
      (page) => {
        setItems((list) => (before ? [...list, ...page.items] : page.items));
        setNext(page.next);
      },
      (e) => toast(`Could not load saved messages: ${errorText(e)}`),
    );
  useEffect(() => void more(), []);
  const unsave = (id: number) =>
    client.unsave(id).then(
      () => setItems((list) => list.filter((s) => s.message.id !== id)),
      (e) => toast(`Could not unsave: ${errorText(e)}`),
    );
  return (
    <Dialog title="Saved messages" onClose={onClose} testId="saved-dialog">
      <div class="dialog-body">
        {next !== undefined && items.length === 0 && <p data-testid="no-saved">No saved messages.</p>}
        <ul class="curation-list">
          {items.map((s) => (
            <li key={s.message.id} data-testid="saved-item">
              <button
                type="button"
                class="linklike curation-text"
                onClick={() => {
                  onClose();
                  open(s.message.conversation_id);
                }}
              >
                <strong>{s.message.sender.name}:</strong> {messageSummary(s.message)}
              </button>
              <small>Saved {formatTime(s.saved_at)}</small>
              <button type="button" class="secondary small" data-testid="unsave" onClick={() => void unsave(s.message.id)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
        {next && (
          <button type="button" class="secondary" data-testid="saved-more" onClick={() => void more(next)}>
            Load more
          </button>
        )}
      </div>
    </Dialog>
  );
}
