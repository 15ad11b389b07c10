import { useEffect, useState } from 'preact/hooks';
import type { Conversation, DirectoryChannel, Visibility } from '@parley/sdk';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { Avatar } from './Avatar.js';
import { Dialog } from './Dialog.js';
import './channel-directory.css';

/** Channels per page of the directory. */
const PAGE = 20;

/** The tenant's public channels: browse, search by name, join; and a new channel, public or private. */
export function ChannelDirectoryDialog({ onClose }: { onClose: () => void }) {
  const { client, open } = useUi();
  const [query, setQuery] = useState('');
  const [channels, setChannels] = useState<DirectoryChannel[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let stale = false;
    // Typing: a request once it pauses; opening: at once.
    const t = setTimeout(
      () => {
        client.listChannels({ q: query.trim() || undefined, limit: PAGE }).then(
          (page) => {
            if (stale) return;
            setChannels(page.channels);
            setNext(page.next_cursor);
            setError(null);
          },
          (e) => !stale && setError(errorText(e)),
        );
      },
      query ? 200 : 0,
    );
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [query, client]);

  const more = async () => {
    if (!next) return;
    try {
      const page = await client.listChannels({ q: query.trim() || undefined, cursor: next, limit: PAGE });
      setChannels([...(channels ?? []), ...page.channels]);
      setNext(page.next_cursor);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const enter = async (c: DirectoryChannel) => {
    setBusy(true);
    try {
      const conv = c.is_member ? c : await client.joinChannel(c.id);
      onClose();
      open(conv.id);
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  return (
    <Dialog title="Channels" onClose={onClose} testId="channel-directory">
      <div class="dialog-body">
        <label class="field">
          <span>Find a public channel</span>
          <input type="search" autocomplete="off" placeholder="Channel name" value={query} data-testid="directory-search" onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <ul class="pick-list directory-list" aria-label="Public channels">
          {channels?.map((c) => (
            <li key={c.id}>
              <button type="button" class="row" data-testid="directory-item" data-channel-id={c.id} disabled={busy} onClick={() => void enter(c)}>
                <Avatar id={c.id} name={c.title ?? '#'} />
                <span class="row-main">
                  <span class="row-title"># {c.title ?? 'Untitled channel'}</span>
                  <span class="row-sub">
                    {c.member_count} {c.member_count === 1 ? 'member' : 'members'}
                  </span>
                </span>
                <span class={`chip${c.is_member ? ' joined' : ''}`} data-testid="directory-action">
                  {c.is_member ? 'Open' : 'Join'}
                </span>
              </button>
            </li>
          ))}
          {channels?.length === 0 && (
            <li class="muted directory-empty" data-testid="directory-empty">
              {query.trim() ? 'No public channel has that name.' : 'No public channels yet.'}
            </li>
          )}
        </ul>
        {next && (
          <button type="button" class="text-button" data-testid="directory-more" onClick={() => void more()}>
            More channels
          </button>
        )}
        <NewChannelForm onCreated={(id) => (onClose(), open(id))} />
      </div>
    </Dialog>
  );
}

/** A new channel: its name and whether the tenant's directory lists it. */
function NewChannelForm({ onCreated }: { onCreated: (id: number) => void }) {
  const { client } = useUi();
  const [title, setTitle] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('public');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const c = await client.createChannel(title.trim() || null, [], visibility);
      onCreated(c.id);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <form class="new-channel" onSubmit={create} aria-label="New channel" data-testid="new-channel">
      <h3>New channel</h3>
      <label class="field">
        <span>Channel name</span>
        <input value={title} maxLength={200} required data-testid="new-channel-title" onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <fieldset class="visibility-choice">
        <legend class="sr-only">Who can find it</legend>
        <label>
          <input type="radio" name="visibility" value="public" checked={visibility === 'public'} onChange={() => setVisibility('public')} />
          <span>
            <strong>Public</strong> — anyone here can find and join it
          </span>
        </label>
        <label>
          <input type="radio" name="visibility" value="private" checked={visibility === 'private'} onChange={() => setVisibility('private')} />
          <span>
            <strong>Private</strong> — only people you add
          </span>
        </label>
      </fieldset>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <button class="primary wide" type="submit" disabled={busy}>
        Create channel
      </button>
    </form>
  );
}

/** For a channel's admins: whether the tenant's directory lists it (public) or not (private). */
export function ChannelVisibilitySwitch({ conv }: { conv: Conversation }) {
  const { client, toast } = useUi();
  const [busy, setBusy] = useState(false);
  // Shown as asked at once; the conversation's own value once the server has answered (or another device changed it).
  const [shown, setShown] = useState<Visibility>(conv.visibility);
  useEffect(() => setShown(conv.visibility), [conv.visibility]);
  const change = async (visibility: Visibility) => {
    setShown(visibility);
    setBusy(true);
    try {
      await client.setVisibility(conv.id, visibility);
    } catch (e) {
      setShown(conv.visibility);
      toast(`Could not change who can find it: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <label class="visibility-switch" data-testid="visibility-switch">
      <input type="checkbox" checked={shown === 'public'} disabled={busy} onChange={(e) => void change(e.currentTarget.checked ? 'public' : 'private')} />
      <span>
        <strong>Public</strong> — listed in Channels; anyone here can join
      </span>
    </label>
  );
}
