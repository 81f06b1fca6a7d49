/// <reference types="node" />
/**
 * The admin pages' forms as API requests: grants, provider settings, audit filters, quota use, the
 * settings pages and the create forms checked against a request schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  auditQuery,
  checkField,
  formProblem,
  grantRequest,
  hostProblems,
  hostRequest,
  ipPoolRequest,
  ldapSettingsRequest,
  NO_AUDIT_FILTERS,
  oidcSettingsRequest,
  pairProblems,
  pairRequest,
  parseLabels,
  parseSettings,
  parseSingletons,
  quotaUse,
  resourceGroupForm,
  resourceGroupPatch,
  resourceGroupProblems,
  resourceGroupRequest,
  schemaAt,
  templatePatch,
  templateRequest,
  type GrantForm,
  type HostForm,
} from './admin-forms.js';
import type { JsonSchema } from './schema.js';

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

/** A request schema as the OpenAPI document has it (the parts the forms read). */
const HOST_SCHEMA: JsonSchema = {
  properties: {
    name: { pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', minLength: 1, maxLength: 63 },
    bmc: {
      properties: {
        address: { minLength: 1, maxLength: 1024 },
        username: { minLength: 1 },
        password: { minLength: 1 },
        systemId: { maxLength: 255 },
      },
    },
    bootMac: { pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' },
    addresses: { items: { minLength: 2, maxLength: 64 } },
    capacity: {
      properties: { vcpus: { minimum: 1, maximum: 4096 }, memoryMiB: { minimum: 256 }, diskGiB: { minimum: 1 } },
    },
    quotas: { properties: { clusters: { minimum: 0, maximum: 100000 } } },
  },
};

const HOST: HostForm = {
  name: 'rack1-u7',
  protocol: 'redfish',
  address: ' https://bmc:443 ',
  username: 'root',
  password: 'pw',
  caCert: '',
  insecure: false,
  systemId: '',
  bootMac: '',
  addresses: '192.0.2.5, 192.0.2.6',
  labels: 'cx/pool=workers, rack=1',
  vcpus: '8',
  memoryMiB: '16384',
  diskGiB: '',
};

describe('create forms', () => {
  it('finds a property of a request schema by its path, array items too', () => {
    assert.equal(schemaAt(HOST_SCHEMA, 'bmc.address')?.maxLength, 1024);
    assert.equal(schemaAt(HOST_SCHEMA, 'addresses[]')?.minLength, 2);
    assert.equal(schemaAt(HOST_SCHEMA, 'bmc.nope'), undefined);
    assert.equal(schemaAt(undefined, 'name'), undefined, 'no schema yet: nothing to check');
  });

  it('checks a typed value by the schema, an empty optional field and numbers included', () => {
    assert.match(checkField(HOST_SCHEMA, 'name', 'Rack_1')!, /does not match/);
    assert.equal(checkField(HOST_SCHEMA, 'bootMac', '', { optional: true }), undefined);
    assert.equal(checkField(HOST_SCHEMA, 'capacity.vcpus', '', { number: true }), 'required');
    assert.equal(checkField(HOST_SCHEMA, 'capacity.vcpus', 'many', { number: true }), 'a whole number');
    assert.equal(checkField(HOST_SCHEMA, 'capacity.memoryMiB', '100', { number: true }), 'at least 256');
    assert.equal(formProblem({ a: undefined }), undefined);
    assert.equal(formProblem({ a: 'required', b: undefined }), 'Correct these fields first: a (required)');
  });

  it('makes a host request of its fields: lists, labels, the disk default', () => {
    assert.deepEqual(hostProblems(HOST, HOST_SCHEMA), {
      name: undefined,
      address: undefined,
      username: undefined,
      password: undefined,
      systemId: undefined,
      bootMac: undefined,
      addresses: undefined,
      labels: undefined,
      vcpus: undefined,
      memoryMiB: undefined,
      diskGiB: undefined,
    });
    assert.deepEqual(hostRequest(HOST), {
      name: 'rack1-u7',
      bmc: { protocol: 'redfish', address: 'https://bmc:443', username: 'root', password: 'pw', insecure: false },
      addresses: ['192.0.2.5', '192.0.2.6'],
      labels: { 'cx/pool': 'workers', rack: '1' },
      capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 100 },
    });
    const bad = hostProblems({ ...HOST, addresses: ' , ', labels: 'rack' }, HOST_SCHEMA);
    assert.equal(bad.addresses, 'required');
    assert.equal(bad.labels, 'Label "rack" is not key=value');
    assert.deepEqual(parseLabels(''), {});
  });

  it('makes resource group, IP pool and template requests, empty quotas and presets left out', () => {
    const group = {
      name: 'team-a',
      description: '',
      credentialId: '',
      clusters: '3',
      nodes: '',
      vcpus: '',
      memoryMiB: '0',
    };
    assert.deepEqual(resourceGroupRequest(group), { name: 'team-a', quotas: { clusters: 3, memoryMiB: 0 } });
    assert.equal(resourceGroupProblems({ ...group, clusters: '-1' }, HOST_SCHEMA).clusters, 'at least 0');
    // A template's edit: only what changed, an emptied field unset, against the version it was read at.
    const template = { version: 4, description: 'small ones', kubernetesVersion: '1.31.4' };
    assert.equal(templatePatch(template, { description: ' small ones ', kubernetesVersion: '1.31.4' }), undefined);
    assert.deepEqual(templatePatch(template, { description: '', kubernetesVersion: '1.32.2' }), {
      version: 4,
      kubernetesVersion: '1.32.2',
      unset: ['description'],
    });
    assert.deepEqual(templatePatch({ version: 1, description: null }, { description: 'd', kubernetesVersion: '' }), {
      version: 1,
      description: 'd',
    });
    // Edited: the stored group as a form, and every field back as the PATCH (cleared ones included).
    const stored = resourceGroupForm({
      name: 'team-a',
      description: 'the A team',
      credentialId: 'cred-1',
      quotas: { clusters: 3, memoryMiB: 0 },
    });
    assert.deepEqual(stored, { ...group, description: 'the A team', credentialId: 'cred-1' });
    assert.deepEqual(resourceGroupPatch({ ...stored, description: ' ', credentialId: '', clusters: '', nodes: '9' }), {
      description: '',
      credentialId: null,
      quotas: { nodes: 9, memoryMiB: 0 },
    });
    assert.deepEqual(ipPoolRequest({ name: 'vips', ranges: '10.1.1.5-8, 42.42.42.42', description: ' ' }), {
      name: 'vips',
      ranges: '10.1.1.5-8,42.42.42.42',
    });
    assert.deepEqual(
      templateRequest({
        name: 'small',
        description: '',
        provider: 'sim',
        kubernetesVersion: '',
        controlPlaneCount: '3',
        poolName: 'workers',
        poolCount: '2',
      }),
      { name: 'small', provider: 'sim', controlPlane: { count: 3 }, nodePools: [{ name: 'workers', count: 2 }] },
    );
  });

  it('makes a pair request; the same cluster twice and a singleton without namespace are named', () => {
    const pair = {
      name: 'edge',
      clusterA: 'c-1',
      clusterB: 'c-2',
      agentUrlA: '',
      agentUrlB: 'http://127.0.0.1:9640',
      singletons: 'apps/db\napps/queue',
      preferredSide: 'b' as const,
    };
    assert.deepEqual(pairRequest(pair), {
      name: 'edge',
      sides: { a: { clusterId: 'c-1' }, b: { clusterId: 'c-2', agentUrl: 'http://127.0.0.1:9640' } },
      singletons: [
        { namespace: 'apps', name: 'db', preferredSide: 'b' },
        { namespace: 'apps', name: 'queue', preferredSide: 'b' },
      ],
      preferredSide: 'b',
    });
    assert.equal(pairProblems({ ...pair, clusterB: 'c-1' }, undefined).clusterB, 'must differ from side a');
    assert.equal(parseSingletons('apps', 'a'), 'Singleton "apps" is not namespace/name');
    assert.equal(pairProblems({ ...pair, singletons: '' }, undefined).singletons, 'required');
  });

  it('makes the single sign-on request: an empty secret is left out (the saved one is kept)', () => {
    assert.deepEqual(
      oidcSettingsRequest({
        issuer: ' https://idp.example ',
        clientId: 'cx',
        clientSecret: '',
        scopes: 'openid  groups',
        usernameClaim: 'preferred_username',
        groupsClaim: '',
        allowHttp: false,
      }),
      {
        issuer: 'https://idp.example',
        clientId: 'cx',
        scopes: 'openid groups',
        usernameClaim: 'preferred_username',
        allowHttp: false,
      },
    );
  });
});
