/// <reference types="node" />
/** The admin pages' forms as API requests: grants, provider settings, audit filters, quota use. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  auditQuery,
  grantRequest,
  ldapSettingsRequest,
  NO_AUDIT_FILTERS,
  parseSettings,
  quotaUse,
  type GrantForm,
} from './admin-forms.js';

const form: GrantForm = {
  subjectKind: 'user',
  subjectName: ' ann ',
  objectKind: 'cluster',
  objectId: 'c-1',
  role: 'operator',
};

describe('admin forms', () => {
  it('makes a grant of its fields, naming what is missing', () => {
    assert.deepEqual(grantRequest(form), {
      subject: { kind: 'user', name: 'ann' },
      object: { kind: 'cluster', id: 'c-1' },
      role: 'operator',
    });
    assert.deepEqual(
      grantRequest({ ...form, subjectKind: 'group', subjectName: 'cn=ops,dc=x', objectKind: 'global' }),
      {
        subject: { kind: 'group', name: 'cn=ops,dc=x' },
        object: { kind: 'global' },
        role: 'operator',
      },
    );
    assert.match(grantRequest({ ...form, subjectName: '  ' }) as string, /Name the user/);
    assert.match(grantRequest({ ...form, subjectKind: 'group', subjectName: '' }) as string, /LDAP group DN/);
    assert.equal(
      grantRequest({ ...form, objectKind: 'resource-group', objectId: '' }),
      'Choose the resource group the role is on',
    );
  });

  it('reads provider settings as a JSON object, or says why not', () => {
    assert.deepEqual(parseSettings(''), {});
    assert.deepEqual(parseSettings('{"datacenter": "dc1"}'), { datacenter: 'dc1' });
    assert.match(parseSettings('{datacenter') as string, /^Settings are not JSON/);
    assert.match(parseSettings('["dc1"]') as string, /must be a JSON object/);
    assert.match(parseSettings('null') as string, /must be a JSON object/);
  });

  it('turns the audit filters into the API query: trimmed texts, times in UTC, none left empty', () => {
    assert.deepEqual(auditQuery(NO_AUDIT_FILTERS, 50), { limit: 50 });
    const since = '2026-12-05T10:00';
    assert.deepEqual(
      auditQuery({ ...NO_AUDIT_FILTERS, actor: ' admin ', action: 'auth.*', outcome: 'failure', since }, 20),
      {
        limit: 20,
        actor: 'admin',
        action: 'auth.*',
        outcome: 'failure',
        since: new Date(since).toISOString(),
      },
    );
    assert.equal(auditQuery({ ...NO_AUDIT_FILTERS, since: 'yesterday' }, 50), 'From: not a date and time');
    assert.equal(
      auditQuery({ ...NO_AUDIT_FILTERS, since: '2026-12-05T10:00', until: '2026-12-04T10:00' }, 50),
      '"From" is after "Until"',
    );
  });

  it('says how much of a quota is used', () => {
    const group = { quotas: { clusters: 10 }, usage: { clusters: 3, nodes: 7, vcpus: 0, memoryMiB: 0 } };
    assert.equal(quotaUse(group, 'clusters'), '3 of 10');
    assert.equal(quotaUse(group, 'nodes'), '7 (no limit)');
  });

  it('makes directory settings of the form: trimmed, empty optional fields (and an empty password) left out', () => {
    const form = {
      url: ' ldap://dc:389 ',
      startTls: true,
      caCert: '',
      bindDn: 'cn=reader,dc=x',
      bindPassword: '',
      userBaseDn: 'ou=people,dc=x ',
      userFilter: '(uid={username})',
      groupBaseDn: '  ',
      groupFilter: '(member={userDn})',
    };
    assert.deepEqual(ldapSettingsRequest(form), {
      url: 'ldap://dc:389',
      startTls: true,
      userBaseDn: 'ou=people,dc=x',
      bindDn: 'cn=reader,dc=x',
      userFilter: '(uid={username})',
      groupFilter: '(member={userDn})',
    });
    assert.equal(
      ldapSettingsRequest({ ...form, bindPassword: ' s3cret ' }).bindPassword,
      ' s3cret ',
      'a password as typed',
    );
  });
});
