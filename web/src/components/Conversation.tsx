import { useEffect, useRef, useState } from 'preact/hooks';
import type { Message } from '@parley/sdk';
import { conversationTitle, formatTime, otherMember } from '../format.js';
import { Icon } from '../icons.js';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { Avatar } from './Avatar.js';
import { Composer, MAX_FILES, draftFiles, type DraftFile } from './Composer.js';
import { Dialog } from './Dialog.js';
import { MembersDialog } from './Members.js';
import { PinnedButton } from './Curation.js';
import { BlockButton } from './Blocking.js';
import { pendingPreviews, type MessageActions } from './Message.js';
import { MessageList } from './MessageList.js';
import { onThreadRequest, ThreadPanel } from './Threads.js';

/** One conversation: its header, history, who is typing, and the composer. */
export function ConversationView({ id }: { id: number }) {
  const { client, toast, open } = useUi();
  const conv = client.state.conversation(id);
  const me = client.user;
  const [missing, setMissing] = useState(false);
  const [ready, setReady] = useState(false);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [deleting, setDeleting] = useState<Message | null>(null);
  const [files, setFiles] = useState<DraftFile[]>([]);
  const [members, setMembers] = useState(false);
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);

  // The conversation (when opened by its address) and its newest page.
  useEffect(() => {
    const gone = (e: { status?: number }) => {
      if (e.status === 404 || e.status === 403) setMissing(true);
      else toast(`Could not load the conversation: ${errorText(e)}`);
    };
    // The list carries a few members of a big group: an open conversation loads them all.
    const known = client.state.conversation(id);
    if (!known || known.members.length < known.member_count) client.getConversation(id).catch(gone);
    client.history(id, { limit: 30 }).then(() => setReady(true), gone);
  }, [id]);

  // Local previews of sent files go once the message is stored.
  useEffect(() => {
    const done = (tempId: string | null | undefined) => {
      const previews = tempId ? pendingPreviews.get(tempId) : undefined;
      if (!previews) return;
      pendingPreviews.delete(tempId!);
      // After the next paint: the stored message's own images replace them.
      setTimeout(() => previews.forEach((p) => p.url && URL.revokeObjectURL(p.url)), 1000);
    };
    const offs = [client.on('message', (f) => done(f.message.local_temp_id)), client.on('send_failed', (f) => done(f.local_temp_id))];
    return () => offs.forEach((off) => off());
  }, []);

  // Reading is MessageList's: what is shown on screen, and nothing after "mark as unread".
  const [markedFrom, setMarkedFrom] = useState<number | null>(null);
  const [threadRoot, setThreadRoot] = useState<Message | null>(null);
  useEffect(() => onThreadRequest(id, setThreadRoot), [id]);

  if (missing || client.state.isRemoved(id))
    return (
      <div class="placeholder" data-testid="conversation-missing">
        <p>This conversation does not exist, or you are not in it.</p>
        <button type="button" class="secondary" onClick={() => open(null)}>
          Back to conversations
        </button>
      </div>
    );
  if (!conv) return <div class="placeholder" role="status">Loading…</div>;

  const title = conversationTitle(conv, me);
  const other = conv.kind === 'direct' ? otherMember(conv, me) : undefined;
  let subtitle: string;
  if (other) {
    const p = client.state.presence(other.user.id);
    subtitle = other.online ? 'online' : p?.last_seen ? `last seen ${formatTime(p.last_seen)}` : 'offline';
  } else {
    const online = conv.members.filter((m) => m.online).length;
    subtitle = `${conv.member_count} members, ${online} online`;
  }
  const typingNames = client.state
    .typing(id)
    .map((uid) => conv.members.find((m) => m.user.id === uid)?.user.name)
    .filter((n): n is string => !!n);
  const typingText =
    typingNames.length === 0
      ? ''
      : typingNames.length === 1
        ? `${typingNames[0]} is typing…`
        : typingNames.length === 2
          ? `${typingNames[0]} and ${typingNames[1]} are typing…`
          : 'Several people are typing…';

  const actions: MessageActions = {
    onReply: (m) => {
      setEditing(null);
      setReplyTo(m);
    },
    onEdit: (m) => {
      setReplyTo(null);
      setEditing(m);
    },
    onDelete: (m) => setDeleting(m),
    onMarkUnread: (m) => {
      // Held first: the message is on screen, and showing it must not read it again.
      const before = markedFrom;
      setMarkedFrom(m.seq);
      client.markUnread(id, m.seq).catch((e) => {
        setMarkedFrom(before);
        toast(`Could not mark as unread: ${errorText(e)}`);
      });
    },
    onThread: (m) => setThreadRoot(m),
  };
  const editLast = () => {
    const mine = client.state.messages(id).filter((m) => m.sender.id === me?.id && !m.deleted_at && (m.kind === 'text' || m.kind === 'emoji'));
    if (mine.length) actions.onEdit(mine[mine.length - 1]);
  };

  const hasFiles = (e: DragEvent) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  return (
    <section
      class="conversation"
      aria-label={title}
      data-testid="conversation"
      data-conversation-id={id}
      onDragEnter={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        dragDepth.current++;
        setDragging(true);
      }}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
      }}
      onDragLeave={() => {
        dragDepth.current = Math.max(0, dragDepth.current - 1);
        if (dragDepth.current === 0) setDragging(false);
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        dragDepth.current = 0;
        setDragging(false);
        const dropped = [...(e.dataTransfer?.files ?? [])];
        const room = MAX_FILES - files.length;
        if (dropped.length > room) toast(`At most ${MAX_FILES} files per message`);
        setFiles([...files, ...draftFiles(dropped.slice(0, Math.max(0, room)))]);
      }}
    >
      <header class="conversation-header">
        <button type="button" class="icon-button back" aria-label="Back to conversations" onClick={() => open(null)} data-testid="back-button">
          <Icon name="back" />
        </button>
        <Avatar id={other?.user.id ?? conv.id} name={title} online={other?.online} group={conv.kind !== 'direct'} />
        <div class="conversation-heading">
          <h2 data-testid="conversation-heading">{title}</h2>
          <small data-testid="conversation-subtitle">{subtitle}</small>
        </div>
        <PinnedButton conv={conv} />
        {other && <BlockButton userId={other.user.id} name={other.user.name} />}
        {conv.kind !== 'direct' && (
          <button type="button" class="icon-button" aria-label="Members" title="Members" onClick={() => setMembers(true)} data-testid="members-button">
            <Icon name="users" />
          </button>
        )}
      </header>
      <MessageList conv={conv} ready={ready} actions={actions} markedFrom={markedFrom} />
      <div class="typing" role="status" aria-live="polite" data-testid="typing-indicator">
        {typingText}
      </div>
      <Composer
        key={id}
        conv={conv}
        replyTo={replyTo}
        editing={editing}
        files={files}
        setFiles={setFiles}
        onCancelReply={() => setReplyTo(null)}
        onCancelEdit={() => setEditing(null)}
        onEditLast={editLast}
      />
      {dragging && (
        <div class="drop-overlay" aria-hidden="true">
          Drop files to attach
        </div>
      )}
      {threadRoot && <ThreadPanel key={threadRoot.id} root={threadRoot} onClose={() => setThreadRoot(null)} />}
      {members && <MembersDialog conv={conv} onClose={() => setMembers(false)} />}
      {deleting && (
        <Dialog title="Delete this message?" onClose={() => setDeleting(null)} testId="delete-dialog">
          <div class="dialog-body">
            <p>It is deleted for everyone in the conversation.</p>
            <div class="dialog-actions">
              <button type="button" class="secondary" onClick={() => setDeleting(null)}>
                Cancel
              </button>
              <button
                type="button"
                class="primary danger"
                onClick={() => {
                  const m = deleting;
                  setDeleting(null);
                  client.deleteMessage(m.id).catch((e) => toast(`Could not delete: ${errorText(e)}`));
                  if (editing?.id === m.id) setEditing(null);
                }}
              >
                Delete
              </button>
            </div>
          </div>
        </Dialog>
      )}
    </section>
  );
}
