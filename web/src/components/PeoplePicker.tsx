import { useEffect, useState } from 'preact/hooks';
import type { User } from '@parley/sdk';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { Avatar } from './Avatar.js';

/** People by name or email, as the query is typed (debounced). */
export function usePeopleSearch(query: string): { results: User[] | null; error: string | null } {
  const { client } = useUi();
  const [results, setResults] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setResults(null);
      setError(null);
      return;
    }
    let stale = false;
    const t = setTimeout(() => {
      client.searchUsers(q, { limit: 10 }).then(
        (list) => {
          if (stale) return;
          setResults(list.filter((u) => u.id !== client.user?.id));
          setError(null);
        },
        (e) => !stale && setError(errorText(e)),
      );
    }, 200);
    return () => {
      stale = true;
      clearTimeout(t);
    };
  }, [query, client]);
  return { results, error };
}

/** A person as a row of a list: avatar, name and email, and what choosing them does. */
export function PersonRow({ user, action, onClick, testId }: { user: User; action: string; onClick: () => void; testId?: string }) {
  return (
    <button type="button" class="row" data-testid={testId} onClick={onClick}>
      <Avatar id={user.id} name={user.name} />
      <span class="row-main">
        <span class="row-title">{user.name}</span>
        <span class="row-sub">{user.email}</span>
      </span>
      <span class="chip">{action}</span>
    </button>
  );
}

/**
 * The member picker: search people by email and add one (a new group's members, a member of a
 * conversation); those `excluded` (chosen already, members already) are not offered.
 */
export function PeoplePicker({ excluded, onPick }: { excluded: (u: User) => boolean; onPick: (u: User) => void }) {
  const [query, setQuery] = useState('');
  const { results } = usePeopleSearch(query);
  return (
    <>
      <label class="field">
        <span>Add people (search by email)</span>
        <input type="search" autocomplete="off" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
      </label>
      {results && (
        <ul class="pick-list" aria-label="People found">
          {results
            .filter((u) => !excluded(u))
            .map((u) => (
              <li key={u.id}>
                <PersonRow
                  user={u}
                  action="Add"
                  onClick={() => {
                    setQuery('');
                    onPick(u);
                  }}
                />
              </li>
            ))}
          {results.length === 0 && <li class="muted">Nobody found.</li>}
        </ul>
      )}
    </>
  );
}
