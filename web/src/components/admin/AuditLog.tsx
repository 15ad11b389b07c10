import { useEffect, useState } from 'preact/hooks';
import type { AuditEntry, AuditQuery } from '@parley/sdk';
import { errorText } from '../../session.js';
import { useUi } from '../../ui.js';
import './audit-log.css';

/** Entries per page of the log. */
const PAGE = 50;

/** The filters as typed: empty means none. */
interface Filters {
  action: string;
  actor: string;
  target: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { action: '', actor: '', target: '', from: '', to: '' };

/** The typed filters as the API's query (a date is from its local midnight; `to` includes its day). */
function queryOf(f: Filters): AuditQuery {
  const day = (d: string, plusDays = 0) => (d ? new Date(new Date(`${d}T00:00`).getTime() + plusDays * 86_400_000).toISOString() : undefined);
  const actor = Number(f.actor);
  return {
    action: f.action.trim() || undefined,
    actor_id: f.actor.trim() && Number.isInteger(actor) && actor > 0 ? actor : undefined,
    target_id: f.target.trim() || undefined,
    from: day(f.from),
    to: day(f.to, 1),
  };
}

/** What changed, in one line: `from → to` for a role, else the details' keys and values. */
const detailsText = (d: AuditEntry['details']) => (d === null ? '' : Object.entries(d).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', '));

/** The tenant's audit log (issue 20, tenant admins): a table, newest first, filtered, paged by cursor. */
export function AuditLog() {
  const { client } = useUi();
  const [typed, setTyped] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stale = false;
    client.rest.auditLog({ ...queryOf(filters), limit: PAGE }).then(
      (page) => {
        if (stale) return;
        setEntries(page.entries);
        setNext(page.next);
        setError(null);
      },
      (e) => !stale && setError(errorText(e)),
    );
    return () => {
      stale = true;
    };
  }, [filters, client]);

  const more = async () => {
    if (next === null) return;
    try {
      const page = await client.rest.auditLog({ ...queryOf(filters), before: next, limit: PAGE });
      setEntries([...(entries ?? []), ...page.entries]);
      setNext(page.next);
    } catch (e) {
      setError(errorText(e));
    }
  };

  const field = (key: keyof Filters, label: string, type = 'text') => (
    <label>
      {label}
      <input type={type} value={typed[key]} data-testid={`audit-filter-${key}`} onInput={(e) => setTyped({ ...typed, [key]: (e.target as HTMLInputElement).value })} />
    </label>
  );

  return (
    <section class="audit-log" aria-label="Audit log" data-testid="audit-log">
      <form
        class="audit-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(typed);
        }}
      >
        {field('action', 'Action')}
        {field('actor', 'Actor id')}
        {field('target', 'Target id')}
        {field('from', 'From', 'date')}
        {field('to', 'To', 'date')}
        <button type="submit" data-testid="audit-apply">
          Filter
        </button>
      </form>
      {error && <p class="muted" role="alert">{error}</p>}
      {entries?.length === 0 && <p class="muted">No entries.</p>}
      {entries && entries.length > 0 && (
        <div class="audit-scroll">
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>Time</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Target</th>
                <th>Reason</th>
                <th>Details</th>
                <th>Origin</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.seq} data-testid="audit-row" data-action={e.action}>
                  <td>{e.seq}</td>
                  <td>{new Date(e.at).toLocaleString()}</td>
                  <td>{e.actor_id ?? 'operator'}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td>
                    {e.target_type} {e.target_id}
                  </td>
                  <td>{e.reason ?? ''}</td>
                  <td>{detailsText(e.details)}</td>
                  <td>{e.origin ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== null && (
        <button type="button" onClick={() => void more()} data-testid="audit-more">
          Older entries
        </button>
      )}
    </section>
  );
}
