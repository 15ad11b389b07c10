import { useState } from 'preact/hooks';
import type { ParleyClient } from '@parley/sdk';
import { errorText, newClient, saveToken } from '../session.js';

/** Sign in or create an account; hands the logged-in client up. */
export function Auth({ onAuthed, notice = null }: { onAuthed: (client: ParleyClient) => void; notice?: string | null }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const client = newClient();
    try {
      if (mode === 'register') await client.register({ name: name.trim(), email: email.trim(), password });
      else await client.login({ email: email.trim(), password });
      saveToken(client.token);
      onAuthed(client);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };

  const register = mode === 'register';
  return (
    <main class="auth">
      <div class="auth-card">
        <h1 class="brand">Parley</h1>
        {notice && (
          <p class="auth-notice" role="status" data-testid="session-ended">
            {notice}
          </p>
        )}
        <div class="auth-tabs" role="group" aria-label="Account">
          <button type="button" aria-pressed={!register} onClick={() => setMode('login')}>
            Sign in
          </button>
          <button type="button" aria-pressed={register} onClick={() => setMode('register')}>
            Create account
          </button>
        </div>
        <form onSubmit={submit} aria-label={register ? 'Create account' : 'Sign in'}>
          {register && (
            <label class="field">
              <span>Name</span>
              <input name="name" autocomplete="name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </label>
          )}
          <label class="field">
            <span>Email</span>
            <input name="email" type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <label class="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              autocomplete={register ? 'new-password' : 'current-password'}
              required
              minLength={register ? 8 : undefined}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          <button class="primary wide" type="submit" disabled={busy}>
            {busy ? 'Please wait…' : register ? 'Create account' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
