import { useCallback } from 'preact/hooks';
import type { TenantSettingsChanges } from '@parley/sdk';
import { useUi } from '../../ui.js';
import { useAdminData } from './use-admin.js';

const number = (v: string) => (v.trim() === '' ? null : Number(v));

/** The tenant's settings: registration, upload limit, retention, allowed origins (empty: the server's). */
export function SettingsTab() {
  const { client } = useUi();
  const load = useCallback(() => client.admin.settings(), [client]);
  const { data, error, act } = useAdminData(load);
  const save = (changes: TenantSettingsChanges) => act(() => client.admin.setSettings(changes));
  if (!data) return <p class="error">{error}</p>;
  return (
    <form class="admin-settings" data-testid="admin-settings" onSubmit={(e) => e.preventDefault()}>
      {error && <p class="error">{error}</p>}
      <label>
        Registration
        <select value={data.registration ?? ''} onChange={(e) => save({ registration: ((e.target as HTMLSelectElement).value || null) as TenantSettingsChanges['registration'] })}>
          <option value="">Server default</option>
          <option value="invite">Invite only</option>
          <option value="open">Open</option>
          <option value="closed">Closed</option>
        </select>
      </label>
      <label>
        Upload limit (bytes)
        <input type="number" min={1} value={data.max_upload_bytes ?? ''} onChange={(e) => save({ max_upload_bytes: number((e.target as HTMLInputElement).value) })} />
      </label>
      <label>
        Keep messages (days)
        <input type="number" min={1} value={data.retention_days ?? ''} onChange={(e) => save({ retention_days: number((e.target as HTMLInputElement).value) })} />
      </label>
      <label>
        Allowed origins (one a line)
        <textarea
          value={(data.allowed_origins ?? []).join('\n')}
          onChange={(e) => {
            const lines = (e.target as HTMLTextAreaElement).value.split('\n').map((l) => l.trim()).filter(Boolean);
            void save({ allowed_origins: lines.length ? lines : null });
          }}
        />
      </label>
    </form>
  );
}
