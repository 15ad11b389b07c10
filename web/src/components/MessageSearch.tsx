import { useEffect, useState } from 'preact/hooks';
import type { Message, ParleyClient, SearchHit, SearchPage } from '@parley/sdk';
import { conversationTitle, listTime } from '../format.js';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { SearchBox } from './SearchBox.js';

/** The words that matched, as <mark>: the text stays text nodes (never HTML). */
function Snippet({ highlight }: { highlight: NonNullable<SearchHit['highlight']> }) {
  const { text, ranges } = highlight;
  const parts = [];
  let at = 0;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    if (r.start < at) continue;
    parts.push(text.slice(at, r.start), <mark key={r.start}>{text.slice(r.start, r.end)}</mark>);
    at = r.end;
  }
  parts.push(text.slice(at));
  return <span class="row-sub snippet" data-testid="search-snippet">{parts}</span>;
}

/** Loads older pages until the state holds the message (a bounded number of them). */
async function loadUntil(client: ParleyClient, m: Message): Promise<void> {
  for (let i = 0; i < 40 && !client.state.messages(m.conversation_id).some((x) => x.id === m.id); i++) {
    const page = await client.loadOlder(m.conversation_id, 100);
    if (!page.hasMore && page.messages.length === 0) return;
  }
}

/**
 * Scrolls the conversation to the message once it is on the page, marks it for a moment, and
 * scrolls again for a while if the list moves it away (its own first scroll to the bottom,
 * an older page arriving).
 */
function reveal(id: number, tries = 200, kept = 0): void {
  const el = document.getElementById(`message-${id}`);
  if (!el) return void (tries > 0 && setTimeout(() => reveal(id, tries - 1), 50));
  const scroller = el.closest('[role=log]');
  const box = el.getBoundingClientRect();
  const view = scroller?.getBoundingClientRect();
  const inView = view !== undefined && box.top >= view.top && box.bottom <= view.bottom;
  if (!inView) el.scrollIntoView({ block: 'center' });
  if (kept === 0) {
    el.classList.add('found');
    setTimeout(() => el.classList.remove('found'), 2500);
  }
  if (kept < 30) setTimeout(() => reveal(id, tries, kept + 1), 100);
}

/** Full-text search over my conversations, in the sidebar: results with the matched words marked. */
export function MessageSearch() {
  const { client, open, toast } = useUi();
  const [query, setQuery] = useState('');
  const [page, setPage] = useState<SearchPage | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const q = query.trim();
    if (!q) return void (setPage(null), setError(null));
    let stale = false;
    const t = setTimeout(() => {
      client.search(q, { limit: 20 }).then(
        (p) => !stale && (setPage(p), setError(null)),
        (e) => !stale && setError(errorText(e)),
      );
    }, 250);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [query, client]);

  const more = async () => {
    if (!page?.next) return;
    try {
      const next = await client.search(query.trim(), { limit: 20, cursor: page.next });
      setPage({ results: [...page.results, ...next.results], next: next.next });
    } catch (e) {
      toast(errorText(e));
    }
  };

  const jump = async (m: Message) => {
    try {
      await loadUntil(client, m);
      open(m.conversation_id);
      reveal(m.id);
    } catch (e) {
      toast(`Could not open the message: ${errorText(e)}`);
    }
  };

  return (
    <>
      <SearchBox id="message-search" label="Search messages" value={query} onChange={setQuery} />
      {query.trim() !== '' && (
        <section class="people-results message-results" aria-label="Messages found" data-testid="message-results">
          {error && <p class="muted">{error}</p>}
          {page?.results.length === 0 && <p class="muted">No message found.</p>}
          <ul>
            {page?.results.map((r) => {
              const c = client.state.conversation(r.message.conversation_id);
              return (
                <li key={r.message.id}>
                  <button type="button" class="row" data-testid="message-result" data-message-id={r.message.id} onClick={() => void jump(r.message)}>
                    <span class="row-main">
                      <span class="row-line">
                        <span class="row-title">
                          {r.message.sender.name}
                          {c ? ` · ${conversationTitle(c, client.user)}` : ''}
                        </span>
                        <span class="row-time">{listTime(r.message.created_at)}</span>
                      </span>
                      {r.highlight ? <Snippet highlight={r.highlight} /> : <span class="row-sub">{r.message.content}</span>}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
          {page?.next && (
            <button type="button" class="text-button" onClick={() => void more()}>
              More results
            </button>
          )}
        </section>
      )}
    </>
  );
}
