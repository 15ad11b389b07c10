import { hueOf, initials } from '../format.js';

/** Initials on a colour of the user's; a presence dot when `online` is given. */
export function Avatar({ id, name, online, group = false }: { id: number; name: string; online?: boolean; group?: boolean }) {
  return (
    <span class={`avatar${group ? ' avatar-group' : ''}`} style={{ '--hue': String(hueOf(id)) }} aria-hidden="true">
      {initials(name)}
      {online !== undefined && <span class={`presence-dot ${online ? 'on' : 'off'}`} data-testid="presence-dot" data-online={String(online)} />}
    </span>
  );
}
