import { useState } from 'preact/hooks';
import type { User } from '@parley/sdk';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { Dialog } from './Dialog.js';
import { PeoplePicker } from './PeoplePicker.js';

/** A new group: its name and first members (you are its admin). */
export function NewGroupDialog({ onClose }: { onClose: () => void }) {
  const { client, open } = useUi();
  const [title, setTitle] = useState('');
  const [chosen, setChosen] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const c = await client.createGroup(title.trim() || null, chosen.map((u) => u.id));
      onClose();
      open(c.id);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  return (
    <Dialog title="New group" onClose={onClose} testId="new-group-dialog">
      <form onSubmit={create} class="dialog-body">
        <label class="field">
          <span>Group name</span>
          <input value={title} maxLength={200} required onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <PeoplePicker excluded={(u) => chosen.some((c) => c.id === u.id)} onPick={(u) => setChosen([...chosen, u])} />
        {chosen.length > 0 && (
          <ul class="chips" aria-label="Members to add">
            {chosen.map((u) => (
              <li key={u.id} class="chip">
                {u.name}
                <button type="button" class="chip-x" aria-label={`Remove ${u.name}`} onClick={() => setChosen(chosen.filter((c) => c.id !== u.id))}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button class="primary wide" type="submit" disabled={busy}>
          Create group
        </button>
      </form>
    </Dialog>
  );
}
