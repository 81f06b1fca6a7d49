/**
 * The single sign-on (OIDC) settings, changed at run time: cx reads the provider's discovery
 * document (its issuer must be the one given) before saving, and the client secret is never shown
 * back. Until an admin saves some, the configuration file's auth.oidc applies.
 */
import { useEffect, useState } from 'preact/hooks';
import type { OidcSettings } from '@cx/api-schemas';
import { oidcSettingsRequest, type OidcForm } from '../../admin-forms.js';
import { api } from '../../api.js';
import { ConfirmButton, ProblemMessage } from '../../components.js';
import { RevertSettingsButton } from './revert-settings.js';
import { typed, when } from './shared.js';

const formOf = (s: OidcSettings): OidcForm => ({
  issuer: s.issuer ?? '',
  clientId: s.clientId ?? '',
  clientSecret: '',
  scopes: s.scopes,
  usernameClaim: s.usernameClaim,
  groupsClaim: s.groupsClaim,
  allowHttp: s.allowHttp,
});

export function SingleSignOn() {
  const [settings, setSettings] = useState<OidcSettings | undefined>(undefined);
  const [form, setForm] = useState<OidcForm | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.oidcSettings().then((s) => {
      setSettings(s);
      setForm(formOf(s));
    }, setError);
  }, []);
  if (!settings || !form)
    return (
      <>
        <h1 tabIndex={-1}>Single sign-on (OIDC)</h1>
        <ProblemMessage error={error} />
        {!error ? <p aria-live="polite">Loading…</p> : null}
      </>
    );
  const set = (key: keyof OidcForm) => (e: Event) => setForm({ ...form, [key]: typed(e) });
  const save = async (): Promise<void> => {
    const saved = await api.saveOidcSettings(oidcSettingsRequest(form));
    setSettings(saved);
    setForm(formOf(saved));
  };
  const revert = async (): Promise<void> => {
    const fromFile = await api.revertOidcSettings();
    setSettings(fromFile);
    setForm(formOf(fromFile));
  };
  return (
    <>
      <h1 tabIndex={-1}>Single sign-on (OIDC)</h1>
      <p data-testid="oidc-source">
        {settings.source === 'settings'
          ? `Saved by ${settings.updatedBy ?? '?'} on ${when(settings.updatedAt)}.`
          : settings.enabled
            ? 'From the configuration file (auth.oidc); saving here replaces it.'
            : 'Single sign-on is off: the configuration file sets no identity provider.'}{' '}
        {settings.enabled ? 'Single sign-on is on.' : ''}
      </p>
      <p>
        Register this redirect URI at the identity provider:{' '}
        <code class="wrap-anywhere" data-testid="redirect-uri">
          {settings.redirectUri}
        </code>
      </p>
      <form class="stack" aria-label="Single sign-on settings" onSubmit={(e) => e.preventDefault()}>
        <label>
          Issuer URL <span class="muted small">as the provider names itself</span>
          <input value={form.issuer} required onInput={set('issuer')} />
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={form.allowHttp}
            onChange={(e) => setForm({ ...form, allowHttp: (e.currentTarget as HTMLInputElement).checked })}
          />
          Allow an http:// issuer (a lab provider only)
        </label>
        <label>
          Client id
          <input value={form.clientId} required onInput={set('clientId')} />
        </label>
        <label>
          Client secret{' '}
          <span class="muted small">
            {settings.hasClientSecret
              ? 'one is saved: leave empty to keep it (same issuer and client id)'
              : 'empty for a public client'}
          </span>
          <input type="password" value={form.clientSecret} autoComplete="new-password" onInput={set('clientSecret')} />
        </label>
        <label>
          Scopes <span class="muted small">space-separated, with openid (add groups for the groups claim)</span>
          <input value={form.scopes} required onInput={set('scopes')} />
        </label>
        <label>
          Username claim
          <input value={form.usernameClaim} required onInput={set('usernameClaim')} />
        </label>
        <label>
          Groups claim
          <input value={form.groupsClaim} required onInput={set('groupsClaim')} />
        </label>
        <div class="actions">
          <ConfirmButton
            label="Check and save"
            title="Save the single sign-on settings?"
            confirmLabel="Check and save"
            onConfirm={save}
          >
            <p>
              cx reads the discovery document of {form.issuer || 'the identity provider'} first; nothing is saved if it
              cannot, or if the provider names another issuer. The next single sign-on uses these settings.
            </p>
          </ConfirmButton>
          {settings.source === 'settings' ? (
            <RevertSettingsButton onConfirm={revert}>
              <p>
                The settings saved here (and their client secret) are dropped; from the next sign-in, single sign-on
                uses the configuration file's auth.oidc, or is off if the file sets no provider.
              </p>
            </RevertSettingsButton>
          ) : null}
        </div>
      </form>
    </>
  );
}
