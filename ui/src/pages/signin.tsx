// Sign-in: one token field. The token is checked with GET /whoami, kept in sessionStorage
// (this tab only) and from then on sent only in the Authorization header.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { navigate } from '../router';
import { signIn } from '../session';
import { ErrorNote } from '../components/ui';

export function SignIn({ next }: { next?: string }) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('token') as HTMLInputElement;
    const token = input.value.trim();
    if (!token) return;
    setBusy(true);
    setError(undefined);
    try {
      const who = await api.whoami(token);
      input.value = '';
      signIn(token, who);
      // only a path inside the UI: never an address elsewhere
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', { replace: true });
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="signin-page">
      <form class="signin card" onSubmit={submit} aria-labelledby="signin-title">
        <div class="signin-brand">
          <svg viewBox="0 0 32 32" width="36" height="36" aria-hidden="true"><rect width="32" height="32" rx="7" class="brand-bg" /><g class="brand-fg"><rect x="7" y="7" width="6" height="5" rx="1.5" /><rect x="19" y="7" width="6" height="5" rx="1.5" /><rect x="4" y="20" width="6" height="5" rx="1.5" /><rect x="13" y="20" width="6" height="5" rx="1.5" /><rect x="22" y="20" width="6" height="5" rx="1.5" /></g></svg>
          <div>
            <h1 id="signin-title">Sign in to fabric</h1>
            <p class="muted">Fabric lifecycle and zero-touch provisioning</p>
          </div>
        </div>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} placeholder="fzt_…" required autoFocus
          aria-describedby={error ? 'signin-error' : 'token-help'} aria-invalid={error ? 'true' : undefined} />
        <p id="token-help" class="help">A viewer, operator or admin token (the first one is in <code>$DATA_DIR/admin-token</code>).
          It stays in this tab and is sent only in the Authorization header.</p>
        <ErrorNote error={error} id="signin-error" />
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </div>
  );
}
