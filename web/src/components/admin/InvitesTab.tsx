import { useCallback, useState } from 'preact/hooks';
import { useUi } from '../../ui.js';
import { useAdminData } from './use-admin.js';

interface InviteRow {
  id: string;
  email: string | null;
  status: string;
  expires_at: string;
}

/** Invites into the tenant: create (the code is shown once), list, revoke. */
export function InvitesTab() {
  const { client } = useUi();
  const load = useCallback(() => client.rest.request<InviteRow[]>('GET', '/invites'), [client]);
  const { data, error, act } = useAdminData(load);
  const [code, setCode] = useState<string | null>(null);
  const create = () => act(async () => setCode((await client.rest.request<{ code: string }>('POST', '/invites', { json: {} })).code));
  return (
    <div data-testid="admin-invites">
      <button type="button" onClick={create}>New invite</button>
      {code && <p class="admin-code" data-testid="admin-invite-code">{code}</p>}
      {error && <p class="error">{error}</p>}
      <table class="admin-table">
        <tbody>
          {data?.map((i) => (
            <tr key={i.id}>
              <td>{i.email ?? 'anyone'}</td>
              <td>{i.status}</td>
              <td>{new Date(i.expires_at).toLocaleDateString()}</td>
              <td class="admin-actions">
                {i.status === 'active' && <button type="button" onClick={() => act(() => client.rest.request('DELETE', `/invites/${i.id}`))}>Revoke</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
