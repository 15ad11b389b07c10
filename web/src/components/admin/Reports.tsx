import { useEffect, useState } from 'preact/hooks';
import type { ReportPage } from '@parley/sdk';
import { errorText } from '../../session.js';
import { useUi } from '../../ui.js';
import { Icon } from '../../icons.js';
import { Dialog } from '../Dialog.js';
import { ReasonDialog } from './ReasonDialog.js';

type Item = ReportPage['items'][number];
type Action = 'dismiss' | 'delete' | 'mute' | 'ban' | 'suspend';
const ACTIONS: { action: Action; label: string }[] = [
  { action: 'dismiss', label: 'Dismiss' },
  { action: 'delete', label: 'Delete message' },
  { action: 'mute', label: 'Mute author' },
  { action: 'ban', label: 'Ban author' },
  { action: 'suspend', label: 'Suspend account' },
];

/**
 * The report queue (issue 20): open reports of every conversation I moderate (a tenant
 * admin: the tenant's), oldest first, a page at a time, each with its message and the
 * actions on it. Suspending the author is administration's (not offered yet).
 */
export function Reports() {
  const { client, toast } = useUi();
  const [items, setItems] = useState<Item[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const load = (after?: number) =>
    client.rest.reports({ after }).then(
      (page) => {
        setItems((old) => (after === undefined ? page.items : [...old, ...page.items]));
        setNext(page.next);
      },
      (e) => toast(`Could not load the reports: ${errorText(e)}`),
    );
  useEffect(() => void load(), []);

  const [asking, setAsking] = useState<{ item: Item; action: Action } | null>(null);
  const resolve = (item: Item, action: Action, reason?: string, until?: string | null) => {
    client.rest.resolveReport(item.id, { action, reason: reason || undefined, until }).then(
      () => setItems((old) => old.filter((i) => i.id !== item.id)),
      (e) => toast(`Could not resolve the report: ${errorText(e)}`),
    );
  };

  return (
    <section class="admin-reports" aria-label="Reports" data-testid="reports">
      {items.length === 0 && <p class="empty">No open reports.</p>}
      <ul class="report-list">
        {items.map((item) => (
          <li key={item.id} class="report" data-testid="report" data-report-id={item.id}>
            <blockquote class="report-message">{item.message?.content ?? '(deleted)'}</blockquote>
            <span class="row-sub">
              by {item.message?.sender.name ?? `user ${item.author_id}`} · reported: {item.reason}
            </span>
            <span class="report-actions">
              {ACTIONS.map(({ action, label }) => (
                <button key={action} type="button" class={action === 'dismiss' ? 'secondary' : 'secondary danger'} onClick={() => (action === 'dismiss' ? resolve(item, action) : setAsking({ item, action }))}>
                  {label}
                </button>
              ))}
            </span>
          </li>
        ))}
      </ul>
      {asking && (
        <ReasonDialog
          title={ACTIONS.find((a) => a.action === asking.action)!.label}
          action={ACTIONS.find((a) => a.action === asking.action)!.label}
          withHours={asking.action === 'mute' || asking.action === 'ban'}
          onSubmit={(reason, until) => resolve(asking.item, asking.action, reason, until)}
          onClose={() => setAsking(null)}
        />
      )}
      {next !== null && (
        <button type="button" class="secondary wide" onClick={() => void load(next)}>
          More
        </button>
      )}
    </section>
  );
}

/**
 * The sidebar's way to the report queue for a conversation's moderator or admin who does not
 * administer the tenant (tenant admins have it as a tab of the admin section): a dialog with
 * the queue of the conversations they moderate.
 */
export function ReportsButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="icon-button" aria-label="Reports" title="Reports" data-testid="reports-button" onClick={() => setOpen(true)}>
        <Icon name="flag" />
      </button>
      {open && (
        <Dialog title="Reports" onClose={() => setOpen(false)} testId="reports-dialog">
          <div class="dialog-body">
            <Reports />
          </div>
        </Dialog>
      )}
    </>
  );
}
