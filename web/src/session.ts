import { useEffect, useState } from 'preact/hooks';
import { ParleyClient } from '../../sdk/src/index.js';

const TOKEN_KEY = 'parley.token';

export function loadToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* private mode: the session lasts as long as the page */
  }
}

/** A client of the page's own server. */
export function newClient(token: string | null = null): ParleyClient {
  return new ParleyClient({ baseUrl: '', token, pageSize: 30 });
}

/** Re-renders the caller whenever the client's state changes; returns the state's version. */
export function useChatState(client: ParleyClient): number {
  const [version, setVersion] = useState(client.state.version);
  useEffect(() => client.state.subscribe(() => setVersion(client.state.version)), [client]);
  return version;
}

/** The message of an error, for people. */
export function errorText(e: unknown): string {
  const m = (e as { message?: unknown })?.message;
  return typeof m === 'string' && m ? m : 'Something went wrong';
}
