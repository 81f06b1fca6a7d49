/** Sign-in with a password, local or LDAP, as GET /auth/methods offers. */
import { useEffect, useState } from 'preact/hooks';
import type { LoginMethods, LoginRequest, Principal } from '@cx/api-schemas';
import { api } from '../api.js';
import { ProblemMessage } from '../components.js';

export function SignIn({ onSignedIn }: { onSignedIn: (user: Principal | undefined) => void }) {
  const [methods, setMethods] = useState<LoginMethods | undefined>(undefined);
  const [provider, setProvider] = useState<'' | 'local' | 'ldap'>('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.loginMethods().then(setMethods, setError);
  }, []);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const request: LoginRequest = {
      username: String(form.get('username') ?? ''),
      password: String(form.get('password') ?? ''),
      ...(provider ? { provider } : {}),
    };
    setBusy(true);
    setError(null);
    try {
      const session = await api.signIn(request);
      onSignedIn(session.user);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>Sign in to cx</h1>
      <form class="card stack" onSubmit={submit}>
        <label>
          Username
          <input name="username" autocomplete="username" required maxLength={128} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required maxLength={1024} />
        </label>
        {methods?.ldap ? (
          <label>
            Account
            <select value={provider} onChange={(e) => setProvider((e.currentTarget as HTMLSelectElement).value as '')}>
              <option value="">Local, then directory (LDAP)</option>
              <option value="local">Local account</option>
              <option value="ldap">Directory account (LDAP)</option>
            </select>
          </label>
        ) : null}
        <ProblemMessage error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {methods?.oidc ? (
          <p>
            Or{' '}
            <a class="button" href={api.singleSignOnHref}>
              Sign in with single sign-on
            </a>
          </p>
        ) : null}
      </form>
    </>
  );
}
