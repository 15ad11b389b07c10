import { Icon } from '../icons.js';

/** A labelled search field of the sidebar; Escape clears it. */
export function SearchBox({ id, label, value, onChange }: { id: string; label: string; value: string; onChange: (value: string) => void }) {
  return (
    <div class="search">
      <label for={id} class="sr-only">
        {label}
      </label>
      <Icon name="search" size={16} />
      <input id={id} type="search" placeholder={label} autocomplete="off" value={value} onInput={(e) => onChange(e.currentTarget.value)} onKeyDown={(e) => e.key === 'Escape' && onChange('')} />
    </div>
  );
}
