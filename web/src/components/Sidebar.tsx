import { useEffect, useState } from 'preact/hooks';
import type { Conversation, Me, User } from '@parley/sdk';
import { conversationTitle, listTime, messageSummary, otherMember } from '../format.js';
import { Icon } from '../icons.js';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { SearchBox } from './SearchBox.js';
import { Avatar } from './Avatar.js';
import { PersonRow, usePeopleSearch } from './PeoplePicker.js';
import { MessageSearch } from './MessageSearch.js';
import { NewGroupDialog } from './NewGroup.js';
import { ChannelDirectoryDialog } from './ChannelDirectory.js';
import { AdminPanel } from './admin/AdminPanel.js';
import { ReportsButton } from './admin/Reports.js';
import { SavedButton } from './Curation.js';
import { requestThread, ThreadsDialog } from './Threads.js';
import { disablePush, enablePush, pushSupported } from '../push.js';

/**
 * Whether I administer something (my tenant's admins, the server's operators): only they are
 * offered the admin section. Asked of the server once (me()): a session from login or
 * registration does not carry the role, and the server decides every admin call anyway.
 * Null until the server answered (the sidebar's `data-administers` says which it is).
 */
function useAdministers(): boolean | null {
  const { client } = useUi();
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    let live = true;
    client.me().then((m) => live && setMe(m), () => {});
    return () => {
      live = false;
    };
  }, [client]);
  return me && (me.tenant_role === 'admin' || me.is_operator);
}

export function Sidebar({ selected, onLogout }: { selected: number | null; onLogout: () => void }) {
  const { client, open, toast } = useUi();
  const me = client.user;
  const [query, setQuery] = useState('');
  const [newGroup, setNewGroup] = useState(false);
  const [directory, setDirectory] = useState(false);
  const [admin, setAdmin] = useState(false);
  const administers = useAdministers();
  const [threads, setThreads] = useState(false);
  const { results, error } = usePeopleSearch(query);
  const conversations = client.state.conversations();
  // Who may see reports without the admin section: a group's or channel's moderator or admin
  // (the server's queue is of the conversations they moderate).
  const moderates = conversations.some((c) => c.kind !== 'direct' && (c.my_role === 'moderator' || c.my_role === 'admin'));

  const startDirect = async (u: User) => {
    try {
      const c = await client.createDirect(u.id);
      setQuery('');
      open(c.id);
    } catch (e) {
      toast(`Could not start the chat: ${errorText(e)}`);
    }
  };

  return (
    <aside class="sidebar" aria-label="Chats">
      <header class="sidebar-header" data-administers={administers === null ? undefined : String(administers)}>
        {me && <Avatar id={me.id} name={me.name} />}
        <div class="me">
          <strong data-testid="me-name">{me?.name}</strong>
          <small>{me?.email}</small>
        </div>
        <button type="button" class="icon-button" aria-label="Channels" title="Channels" onClick={() => setDirectory(true)}>
          <Icon name="hash" />
        </button>
        <SavedButton />
        {administers && (
          <button type="button" class="icon-button" aria-label="Administration" title="Administration" onClick={() => setAdmin(true)} data-testid="admin-button">
            <Icon name="users" />
          </button>
        )}
        {administers === false && moderates && <ReportsButton />}
        <button type="button" class="icon-button" aria-label="Threads" title="Threads" onClick={() => setThreads(true)} data-testid="threads-button">
          <Icon name="reply" />
        </button>
        <button type="button" class="icon-button" aria-label="New group" title="New group" onClick={() => setNewGroup(true)}>
          <Icon name="newGroup" />
        </button>
        {pushSupported() && <PushButton />}
        <ExportButton />
        <button type="button" class="icon-button" aria-label="Log out" title="Log out" onClick={onLogout}>
          <Icon name="logout" />
        </button>
      </header>
      <SearchBox id="people-search" label="Search people by email" value={query} onChange={setQuery} />
      {query.trim() !== '' && (
        <section class="people-results" aria-label="People found" data-testid="people-results">
          {error && <p class="muted">{error}</p>}
          {results?.length === 0 && <p class="muted">Nobody found.</p>}
          <ul>
            {results?.map((u) => (
              <li key={u.id}>
                <PersonRow user={u} action="Message" testId="person-result" onClick={() => void startDirect(u)} />
              </li>
            ))}
          </ul>
        </section>
      )}
      <MessageSearch />
      <nav class="conversation-list" aria-label="Conversations">
        {conversations.length === 0 ? (
          <p class="muted empty" data-testid="no-conversations">
            No conversations yet. Search for someone by email to start one.
          </p>
        ) : (
          <ul>
            {conversations.map((c) => (
              <ConversationRow key={c.id} c={c} active={c.id === selected} onOpen={() => open(c.id)} />
            ))}
          </ul>
        )}
      </nav>
      {newGroup && <NewGroupDialog onClose={() => setNewGroup(false)} />}
      {directory && <ChannelDirectoryDialog onClose={() => setDirectory(false)} />}
      {admin && <AdminPanel onClose={() => setAdmin(false)} />}
      {threads && (
        <ThreadsDialog
          onClose={() => setThreads(false)}
          onOpen={(t) => {
            setThreads(false);
            requestThread(t.root);
            open(t.conversation_id);
          }}
        />
      )}
    </aside>
  );
}

function ConversationRow({ c, active, onOpen }: { c: Conversation; active: boolean; onOpen: () => void }) {
  const { client } = useUi();
  const me = client.user;
  const title = conversationTitle(c, me);
  const other = c.kind === 'direct' ? otherMember(c, me) : undefined;
  const online = other ? other.online : undefined;
  const typing = client.state.typing(c.id);
  const last = c.last_message;
  const preview = typing.length > 0 ? 'typing…' : last ? `${last.sender.id === me?.id ? 'You: ' : c.kind !== 'direct' ? `${last.sender.name}: ` : ''}${messageSummary(last)}` : c.kind === 'direct' ? 'Say hello' : `${c.member_count} members`;
  return (
    <li>
      <button
        type="button"
        class={`row conversation-row${active ? ' active' : ''}${c.unread_count > 0 ? ' unread' : ''}`}
        aria-current={active ? 'page' : undefined}
        data-testid="conversation-item"
        data-conversation-id={c.id}
        onClick={onOpen}
      >
        <Avatar id={other?.user.id ?? c.id} name={title} online={online} group={c.kind !== 'direct'} />
        <span class="row-main">
          <span class="row-line">
            <span class="row-title" data-testid="conversation-title">
              {title}
            </span>
            {c.last_message_at && <span class="row-time">{listTime(c.last_message_at)}</span>}
          </span>
          <span class="row-line">
            <span class={`row-sub${typing.length ? ' typing' : ''}`} data-testid="conversation-preview">
              {preview}
            </span>
            {c.unread_count > 0 && (
              <span class="badge" data-testid="unread-badge" aria-label={`${c.unread_count} unread`}>
                {c.unread_count > 99 ? '99+' : c.unread_count}
              </span>
            )}
          </span>
          {online !== undefined && <span class="sr-only">{online ? ', online' : ', offline'}</span>}
        </span>
      </button>
    </li>
  );
}

/**
 * The bell: turns pushes on for this browser (the permission prompt needs the click) or off
 * again. Allowed before and not turned off here, they are on at start.
 */
function PushButton() {
  const { client } = useUi();
  const [on, setOn] = useState(false);
  useEffect(() => {
    if (localStorage.getItem(PUSH_OFF) === null) enablePush(client, false).then(setOn, () => setOn(false));
  }, [client]);
  const toggle = () => {
    if (on) {
      localStorage.setItem(PUSH_OFF, '1');
      disablePush(client).then(() => setOn(false), () => setOn(true));
    } else {
      localStorage.removeItem(PUSH_OFF);
      enablePush(client, true).then(setOn, () => setOn(false));
    }
  };
  const label = on ? 'Turn off notifications' : 'Turn on notifications';
  return (
    <button type="button" class="icon-button" aria-label={label} title={label} aria-pressed={on} data-testid="push-bell" onClick={toggle}>
      <Icon name="bell" />
    </button>
  );
}

/** Set while this browser's user turned pushes off with the bell: they stay off at the next start. */
const PUSH_OFF = 'parley.push-off';
/** Downloads my own data (profile, messages I sent, my files) as one tar (issue 20). */
function ExportButton() {
  const { client, toast } = useUi();
  const [busy, setBusy] = useState(false);
  const download = async () => {
    setBusy(true);
    try {
      const res = await client.rest.exportArchive({ user: true });
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `parley-export-${client.user?.id ?? 'me'}.tar`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      toast(`Could not export: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" class="icon-button" aria-label="Export my data" title="Export my data" disabled={busy} onClick={() => void download()} data-testid="export-button">
      <Icon name="download" />
    </button>
  );
}
