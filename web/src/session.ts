import { useEffect, useState } from 'preact/hooks';
import { ParleyClient } from '@parley/sdk';

const TOKEN_KEY = 'parley.token';

// The token lives in this tab's sessionStorage, not localStorage: it survives a reload but
// not the tab, and is not left on disk for the browser's life. REST takes it as a bearer
// header only (it never reads the HttpOnly cookie, so a cross-site form cannot act as the
// user), which is why the page must hold it at all; the page's Content-Security-Policy is
// what keeps injected script from reading it.
export function loadToken(): string | null {
  try {
    // A session from before this change: taken over once, then gone from localStorage.
    const legacy = localStorage.getItem(TOKEN_KEY);
    if (legacy !== null) {
      localStorage.removeItem(TOKEN_KEY);
      sessionStorage.setItem(TOKEN_KEY, legacy);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused: the session lasts as long as the page */
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
