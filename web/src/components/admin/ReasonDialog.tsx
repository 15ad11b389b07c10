import { useState } from 'preact/hooks';
import { Dialog } from '../Dialog.js';

/**
 * Asks why (a report, a deletion, a ban or mute) and, for a ban or mute, for how many hours
 * (empty: for good). The page opens no alert or prompt of the browser's.
 */
export function ReasonDialog({ title, action, withHours = false, onSubmit, onClose }: {
  title: string;
  action: string;
  withHours?: boolean;
  onSubmit: (reason: string, until: string | null) => void;
  onClose: () => void;
}) {
  const [reason, setReason] = useState('');
  const [hours, setHours] = useState('');
  return (
    <Dialog title={title} onClose={onClose} testId="reason-dialog">
      <form
        class="dialog-body"
        onSubmit={(e) => {
          e.preventDefault();
          const h = Number(hours);
          onSubmit(reason.trim(), withHours && h > 0 ? new Date(Date.now() + h * 3_600_000).toISOString() : null);
          onClose();
        }}
      >
        <label class="field">
          <span>Reason</span>
          <textarea value={reason} maxLength={1000} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        {withHours && (
          <label class="field">
            <span>Hours (empty: for good)</span>
            <input type="number" min={1} value={hours} onInput={(e) => setHours(e.currentTarget.value)} />
          </label>
        )}
        <button type="submit" class="wide" data-testid="reason-submit">
          {action}
        </button>
      </form>
    </Dialog>
  );
}
