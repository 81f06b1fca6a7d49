/**
 * Directory settings saved at run time, against real SQL (SQLite and MariaDB) and the slapd peer:
 * the config file's settings until an admin saves some; settings checked, then tried against the
 * directory before anything is saved; the bind password sealed, never answered, kept when left out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import type { LdapConfig } from '@cx/config';
import { migrateLatest } from '@cx/migrations';
import { createLogger } from '@cx/service-kit';
import { testDatabases } from '../db/test-databases.js';
import { SecretBox } from '../secrets/secret-box.js';
import { checkLdapSettings, DirectorySettings } from './directory-settings.js';

const slapd = JSON.parse(process.env['CX_TEST_SLAPD'] ?? 'null') as {
  url: string;
  bindDn: string;
  bindPassword: string;
  userBaseDn: string;
  groupBaseDn: string;
} | null;

/** The configuration file's auth.ldap with nothing set (its defaults). */
const NO_LDAP: LdapConfig = {
  startTls: false,
  userFilter: '(sAMAccountName={username})',
  groupFilter: '(member={userDn})',
  nestedGroups: 'auto',
  maxNestingDepth: 10,
  timeoutMs: 5000,
  groupCacheTtlSeconds: 300,
};

describe('directory settings checks', () => {
  it('names each field that is wrong, before any directory is asked', () => {
    const base = { url: 'ldaps://dc', startTls: true, userBaseDn: 'dc=x', userFilter: '(uid=x)', groupFilter: '(m=x)' };
    assert.deepEqual(
      checkLdapSettings({ ...base, bindDn: 'cn=r', caCert: 'nope' }, undefined).map((e) => e.field),
      ['body.bindPassword', 'body.userFilter', 'body.groupFilter', 'body.startTls', 'body.caCert'],
    );
    assert.deepEqual(
      checkLdapSettings(
        { ...base, url: 'ldap://dc', userFilter: '(uid={username})', groupFilter: '(member={userDn})' },
        undefined,
      ),
      [],
    );
  });
});

for (const target of testDatabases) {
  describe(`directory settings on ${target.name}`, { skip: !slapd && 'CX_TEST_SLAPD is not set' }, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let settings: DirectorySettings;
    const box = new SecretBox('directory-settings-test-key-0123456789');
    const request = () => ({
      url: slapd!.url,
      bindDn: slapd!.bindDn,
      bindPassword: slapd!.bindPassword,
      userBaseDn: slapd!.userBaseDn,
      groupBaseDn: slapd!.groupBaseDn,
    });

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      settings = new DirectorySettings(db, box, NO_LDAP, createLogger({ level: 'silent', service: 'sm' }));
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    it('answers the config file until saved; refuses a wrong bind with nothing saved; saves a working one sealed', async () => {
      assert.equal((await settings.view()).source, 'config');
      assert.equal(await settings.ldap(), null, 'no LDAP in the file: sign-in is off');

      await assert.rejects(settings.put({ ...request(), bindPassword: 'wrong-pw' }, 'admin'), {
        code: 'CX_CREDENTIAL_REJECTED',
      });
      await assert.rejects(settings.put({ ...request(), url: 'ldap://127.0.0.1:1' }, 'admin'), {
        code: 'CX_CREDENTIAL_UNREACHABLE',
      });
      await assert.rejects(settings.put({ ...request(), userFilter: '(uid=alice)' }, 'admin'), {
        code: 'CX_INPUT_INVALID',
      });
      assert.equal((await settings.view()).source, 'config', 'nothing was saved');

      const saved = await settings.put(request(), 'admin');
      assert.equal(saved.source, 'settings');
      assert.equal(saved.hasBindPassword, true);
      assert.equal(saved.caCert, null, 'no CA given');
      assert.equal(saved.updatedBy, 'admin');
      assert.ok(!JSON.stringify(saved).includes(slapd!.bindPassword), 'the answer holds no password');
      const row = JSON.stringify(await db('directory_settings').select());
      assert.ok(!row.includes(slapd!.bindPassword), 'the row holds no plaintext password');

      const directory = await settings.ldap();
      assert.ok(directory, 'sign-in uses the saved settings');
      assert.equal((await directory.authenticate('alice', 'alice-pw')).username, 'alice');
      assert.equal(await settings.ldap(), directory, 'rebuilt only when the row changes');

      // Left out, the saved password is kept (same DN).
      const { bindPassword: _left, ...withoutPassword } = request();
      assert.equal((await settings.put(withoutPassword, 'admin2')).updatedBy, 'admin2');
      assert.equal((await (await settings.ldap())!.authenticate('alice', 'alice-pw')).username, 'alice');
      // Another DN without its password: refused, field named.
      await assert.rejects(settings.put({ ...withoutPassword, bindDn: 'cn=other,dc=example,dc=org' }, 'admin'), {
        code: 'CX_INPUT_INVALID',
      });
    });
  });
}
