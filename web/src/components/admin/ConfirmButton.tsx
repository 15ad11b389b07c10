import { useState } from 'preact/hooks';

/** A destructive action asked twice in place (no browser dialog): the first click arms it. */
export function ConfirmButton({ label, onConfirm }: { label: string; onConfirm: () => void }) {
  const [armed, setArmed] = useState(false);
  return (
    <button type="button" class="danger" onClick={() => (armed ? (setArmed(false), onConfirm()) : setArmed(true))} onBlur={() => setArmed(false)}>
      {armed ? `Confirm ${label.toLowerCase()}` : label}
    </button>
  );
}
