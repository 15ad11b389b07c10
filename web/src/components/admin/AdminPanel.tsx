import { useState } from 'preact/hooks';
import { Dialog } from '../Dialog.js';
import { ADMIN_TABS } from './tabs.js';
import './admin.css';

/** The admin section (issue 20): one tab at a time, from ADMIN_TABS. */
export function AdminPanel({ onClose }: { onClose: () => void }) {
  const [current, setCurrent] = useState(ADMIN_TABS[0].id);
  const Tab = ADMIN_TABS.find((t) => t.id === current)!.component;
  return (
    <Dialog title="Administration" onClose={onClose} testId="admin-panel">
      <div class="admin-tabs" role="tablist">
        {ADMIN_TABS.map((t) => (
          <button key={t.id} type="button" role="tab" aria-selected={t.id === current} data-testid={`admin-tab-${t.id}`} onClick={() => setCurrent(t.id)}>
            {t.label}
          </button>
        ))}
      </div>
      <div class="admin-body" role="tabpanel">
        <Tab />
      </div>
    </Dialog>
  );
}
