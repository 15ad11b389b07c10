import { useCallback } from 'preact/hooks';
import { useUi } from '../../ui.js';
import { ConfirmButton } from './ConfirmButton.js';
import { useAdminData } from './use-admin.js';

/** The tenant's conversations: archive (read-only) or unarchive, delete. */
export function ConversationsTab() {
  const { client } = useUi();
  const load = useCallback(() => client.admin.conversations({ limit: 100 }), [client]);
  const { data, error, act } = useAdminData(load);
  return (
    <div data-testid="admin-conversations">
      {error && <p class="error">{error}</p>}
      <table class="admin-table">
        <tbody>
          {data?.conversations.map((c) => (
            <tr key={c.id}>
              <td>
                <strong>{c.title ?? `${c.kind} #${c.id}`}</strong>
                <small>{c.member_count} members · {c.last_seq} messages</small>
              </td>
              <td>{c.archived_at ? 'archived' : c.kind}</td>
              <td class="admin-actions">
                <button type="button" onClick={() => act(() => client.admin.archive(c.id, !c.archived_at))}>{c.archived_at ? 'Unarchive' : 'Archive'}</button>
                <ConfirmButton label="Delete" onConfirm={() => act(() => client.admin.deleteConversation(c.id))} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
