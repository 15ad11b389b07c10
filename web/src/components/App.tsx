import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ConnectionStatus, ParleyClient } from '@parley/sdk';
import { errorText, loadToken, newClient, saveToken, useChatState } from '../session.js';
import { UiContext, type ImageView, type Ui } from '../ui.js';
import { Auth } from './Auth.js';
import { ConversationView } from './Conversation.js';
import { Lightbox } from './Lightbox.js';
import { Sidebar } from './Sidebar.js';

/** The page: the sign-in form, or the chat once there is a session. */
export function App() {
  const [client, setClient] = useState<ParleyClient | null>(null);
  const [boot, setBoot] = useState<'checking' | 'unreachable' | 'done'>(() => (loadToken() ? 'checking' : 'done'));

  const resume = useCallback(() => {
    const token = loadToken();
    if (!token) return setBoot('done');
    setBoot('checking');
    const c = newClient(token);
    c.me().then(
      () => {
        setClient(c);
        setBoot('done');
      },
      (e: { status?: number }) => {
        // A refused token is forgotten; an unreachable server is tried again.
        if (e.status === 401 || e.status === 403 || e.status === 404) {
          saveToken(null);
          setBoot('done');
        } else setBoot('unreachable');
      },
    );
  }, []);
  useEffect(resume, [resume]);

  const [notice, setNotice] = useState<string | null>(null);
  const logout = useCallback((c: ParleyClient) => {
    c.logout().catch(() => c.disconnect());
    saveToken(null);
    setClient(null);
    history.replaceState(null, '', location.pathname);
  }, []);
  // The server ended the session (signed out on another device, the password changed): the
  // dead token goes and the page asks to sign in again, instead of "Reconnecting…" forever.
  const ended = useCallback((c: ParleyClient) => {
    c.disconnect();
    saveToken(null);
    setClient(null);
    setNotice('Your session ended (you were signed out elsewhere). Sign in again.');
  }, []);

  if (boot === 'checking') return <div class="splash" role="status">Loading…</div>;
  if (boot === 'unreachable')
    return (
      <div class="splash" role="alert">
        <p>The server cannot be reached.</p>
        <button class="primary" type="button" onClick={resume}>
          Try again
        </button>
      </div>
    );
  if (!client) return <Auth onAuthed={(c) => (setNotice(null), setClient(c))} notice={notice} />;
  return <ChatScreen key={client.token ?? ''} client={client} onLogout={() => logout(client)} onEnded={() => ended(client)} />;
}

function routeId(): number | null {
  const m = /^#\/c\/(\d+)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

interface Toast {
  id: number;
  text: string;
}

function ChatScreen({ client, onLogout, onEnded }: { client: ParleyClient; onLogout: () => void; onEnded: () => void }) {
  useChatState(client);
  const [selected, setSelected] = useState<number | null>(routeId);
  const [status, setStatus] = useState<ConnectionStatus>(client.status);
  const [browserOnline, setBrowserOnline] = useState(navigator.onLine);
  const everOnline = useRef(false);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [image, setImage] = useState<ImageView | null>(null);

  const toast = useCallback((text: string) => {
    const id = Math.random();
    setToasts((t) => [...t.slice(-2), { id, text }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 6000);
  }, []);

  useEffect(() => {
    const onHash = () => setSelected(routeId());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const offs = [
      client.on('status', (e) => {
        if (e.status === 'online') everOnline.current = true;
        // Refused for good (4000, 4001: the token is no longer valid): signed out.
        if (e.final && (e.code === 4000 || e.code === 4001)) return onEnded();
        setStatus(e.status);
      }),
      client.on('send_failed', (e) => toast(`A message could not be sent: ${e.message}`)),
    ];
    // The browser knows first when the network goes: the socket is then taken for dead
    // (its sends stay queued and go out, once, after the reconnect). On `online` the SDK
    // reconnects at once.
    const offline = () => {
      setBrowserOnline(false);
      client.dropConnection();
    };
    const online = () => {
      setBrowserOnline(true);
      client.reconnectNow();
    };
    window.addEventListener('offline', offline);
    window.addEventListener('online', online);
    client.connect().catch((e: { code?: string }) => {
      if (e.code === 'not_authenticated') onEnded();
    });
    client.listConversations().catch((e) => toast(`Could not load your conversations: ${errorText(e)}`));
    return () => {
      offs.forEach((off) => off());
      window.removeEventListener('offline', offline);
      window.removeEventListener('online', online);
      client.disconnect();
    };
  }, [client]);

  const unread = client.state.unreadTotal();
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
  }, [unread]);

  const open = useCallback((id: number | null) => {
    const hash = id === null ? '' : `#/c/${id}`;
    if (location.hash !== hash) {
      // Back to the list replaces the entry: the browser's back button then leaves as expected.
      if (id === null) history.replaceState(null, '', location.pathname + location.search);
      else location.hash = hash;
    }
    setSelected(id);
  }, []);

  const ui: Ui = useMemo(() => ({ client, toast, openImage: setImage, open }), [client, toast, open]);

  const banner = !browserOnline
    ? 'You are offline. Messages you send now go out when the connection is back.'
    : status !== 'online' && everOnline.current
      ? 'Reconnecting…'
      : null;

  return (
    <UiContext.Provider value={ui}>
      <div class="app" data-view={selected === null ? 'list' : 'conversation'} data-connection={status}>
        {banner && (
          <div class="banner" role="status" data-testid="connection-banner">
            <span class="spinner" aria-hidden="true" />
            {banner}
          </div>
        )}
        <Sidebar selected={selected} onLogout={onLogout} />
        <main class="main" aria-label="Conversation">
          {selected === null ? (
            <div class="placeholder">
              <p>Select a conversation, or search for someone by email to start one.</p>
            </div>
          ) : (
            <ConversationView key={selected} id={selected} />
          )}
        </main>
        <div class="toasts" aria-live="assertive">
          {toasts.map((t) => (
            <div key={t.id} class="toast" role="alert">
              {t.text}
            </div>
          ))}
        </div>
        {image && <Lightbox image={image} onClose={() => setImage(null)} />}
      </div>
    </UiContext.Provider>
  );
}
