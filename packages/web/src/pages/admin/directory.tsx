/**
 * The LDAP directory settings, changed at run time: cx tries them against the directory (a bind as
 * the service account) before saving, and the bind password is never shown back (the CA
 * certificate, no secret, is, so that saving again keeps it). Until an admin
 * saves some, the configuration file's auth.ldap applies.
 */
import { useEffect, useState } from 'preact/hooks';
import type { LdapSettings, LdapSettingsRequest } from '@cx/api-schemas';
import { ldapSettingsRequest, type LdapForm } from '../../admin-forms.js';
import { api } from '../../api.js';
import { ConfirmButton, ProblemMessage } from '../../components.js';
import { RevertSettingsButton } from './revert-settings.js';
import { typed, when } from './shared.js';

const formOf = (s: LdapSettings): LdapForm => ({
  url: s.url ?? '',
  startTls: s.startTls,
  caCert: s.caCert ?? '',
  bindDn: s.bindDn ?? '',
  bindPassword: '',
  userBaseDn: s.userBaseDn ?? '',
  userFilter: s.userFilter,
  groupBaseDn: s.groupBaseDn ?? '',
  groupFilter: s.groupFilter,
});

export function Directory() {
  const [settings, setSettings] = useState<LdapSettings | undefined>(undefined);
  const [form, setForm] = useState<LdapForm | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.ldapSettings().then((s) => {
      setSettings(s);
      setForm(formOf(s));
    }, setError);
  }, []);
  if (!settings || !form)
    return (
      <>
        <h1 tabIndex={-1}>Directory (LDAP)</h1>
        <ProblemMessage error={error} />
        {!error ? <p aria-live="polite">Loading…</p> : null}
      </>
    );
  const set = (key: keyof LdapForm) => (e: Event) => setForm({ ...form, [key]: typed(e) });
  const save = async (): Promise<void> => {
    const request: LdapSettingsRequest = ldapSettingsRequest(form);
    const saved = await api.saveLdapSettings(request);
    setSettings(saved);
    setForm(formOf(saved));
  };
  const revert = async (): Promise<void> => {
    const fromFile = await api.revertLdapSettings();
    setSettings(fromFile);
    setForm(formOf(fromFile));
  };
  return (
    <>
      <h1 tabIndex={-1}>Directory (LDAP)</h1>
      <p data-testid="ldap-source">
        {settings.source === 'settings'
          ? `Saved by ${settings.updatedBy ?? '?'} on ${when(settings.updatedAt)}.`
          : settings.enabled
            ? 'From the configuration file (auth.ldap); saving here replaces it.'
            : 'LDAP sign-in is off: the configuration file sets no directory.'}{' '}
        {settings.enabled ? 'LDAP sign-in is on.' : ''}
      </p>
      <form class="stack" aria-label="Directory settings" onSubmit={(e) => e.preventDefault()}>
        <label>
          Directory URL <span class="muted small">ldap://host:389 or ldaps://host:636</span>
          <input value={form.url} required onInput={set('url')} />
        </label>
        <label class="check">
          <input
            type="checkbox"
            checked={form.startTls}
            onChange={(e) => setForm({ ...form, startTls: (e.currentTarget as HTMLInputElement).checked })}
          />
          Upgrade to TLS with StartTLS (ldap:// only)
        </label>
        <label>
          CA certificate <span class="muted small">PEM, optional; empty it to go without one</span>
          <textarea rows={3} value={form.caCert} onInput={set('caCert')} />
        </label>
        <label>
          Service account DN
          <input value={form.bindDn} onInput={set('bindDn')} />
        </label>
        <label>
          Service account password{' '}
          <span class="muted small">
            {settings.hasBindPassword ? 'one is saved: leave empty to keep it (same DN)' : 'required with a DN'}
          </span>
          <input type="password" value={form.bindPassword} autoComplete="new-password" onInput={set('bindPassword')} />
        </label>
        <label>
          User base DN
          <input value={form.userBaseDn} required onInput={set('userBaseDn')} />
        </label>
        <label>
          User filter <span class="muted small">must contain {'{username}'}</span>
          <input value={form.userFilter} required onInput={set('userFilter')} />
        </label>
        <label>
          Group base DN <span class="muted small">optional: the user base otherwise</span>
          <input value={form.groupBaseDn} onInput={set('groupBaseDn')} />
        </label>
        <label>
          Group filter <span class="muted small">must contain {'{userDn}'}</span>
          <input value={form.groupFilter} required onInput={set('groupFilter')} />
        </label>
        <div class="actions">
          <ConfirmButton
            label="Test and save"
            title="Save the directory settings?"
            confirmLabel="Test and save"
            onConfirm={save}
          >
            <p>
              cx binds to {form.url || 'the directory'} as the service account first; nothing is saved if that fails.
              Once saved, every LDAP sign-in uses these settings.
            </p>
          </ConfirmButton>
          {settings.source === 'settings' ? (
            <RevertSettingsButton onConfirm={revert}>
              <p>
                The settings saved here (and their password) are dropped; from the next sign-in, LDAP uses the
                configuration file's auth.ldap, or is off if the file sets no directory.
              </p>
            </RevertSettingsButton>
          ) : null}
        </div>
      </form>
    </>
  );
}
