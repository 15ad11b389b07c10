import { useCallback, useState } from 'preact/hooks';
import { useUi } from '../../ui.js';
import { ConfirmButton } from './ConfirmButton.js';
import { useAdminData } from './use-admin.js';

/** The tenant's users: search, suspend, reactivate, make admin or member, erase. */
export function UsersTab() {
  const { client } = useUi();
  const [q, setQ] = useState('');
  const load = useCallback(() => client.admin.users({ q: q.trim() || undefined, limit: 50 }), [client, q]);
  const { data, error, act } = useAdminData(load);
  return (
    <div data-testid="admin-users">
      <input type="search" placeholder="Search e-mail or name" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} aria-label="Search users" />
      {error && <p class="error">{error}</p>}
      <table class="admin-table">
        <tbody>
          {data?.users.map((u) => (
            <tr key={u.id} data-testid={`admin-user-${u.id}`}>
              <td>
                <strong>{u.name}</strong>
                <small>{u.email}</small>
              </td>
              <td>{u.tenant_role}</td>
              <td>{u.suspended_at ? 'suspended' : 'active'}</td>
              <td class="admin-actions">
                {u.suspended_at ? (
                  <button type="button" onClick={() => act(() => client.admin.reactivate(u.id))}>Reactivate</button>
                ) : (
                  <button type="button" onClick={() => act(() => client.admin.suspend(u.id))}>Suspend</button>
                )}
                <button type="button" onClick={() => act(() => client.admin.setRole(u.id, u.tenant_role === 'admin' ? 'member' : 'admin'))}>
                  {u.tenant_role === 'admin' ? 'Make member' : 'Make admin'}
                </button>
                <ConfirmButton label="Erase" onConfirm={() => act(() => client.admin.erase(u.id))} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
