/// <reference types="node" />
/**
 * The console's own logic, apart from the browser: who may do what from their grants, what a
 * typed label or taint list means, which upgrades are offered, and how a field's schema is read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Grant, Principal, ProviderInfo, Taint } from '@cx/api-schemas';
import { accessOf, mayOperate } from './access.js';
import { formatLabels, formatTaints, parseLabels, parseTaints } from './scheduling.js';
import { fieldProblem } from './schema.js';
import { upgradeTargets } from './versions.js';

const dev: Principal = { id: 'u1', username: 'dev', source: 'ldap', role: 'user', groups: ['cn=ops,dc=x'] };
const grant = (subject: Grant['subject'], object: Grant['object'], role: Grant['role']): Grant => ({
  id: `${subject.name}-${object.kind}-${object.id ?? ''}`,
  subject,
  object,
  role,
  createdBy: 'admin',
  createdAt: '2026-01-01T00:00:00Z',
});

describe('access from grants', () => {
  it('gives an administrator everything, and a user without grants nothing', () => {
    const admin = accessOf({ ...dev, role: 'admin' }, []);
    assert.equal(admin.roleOn({ id: 'c1', resourceGroupId: null }), 'admin');
    assert.equal(admin.mayCreate, true);
    const none = accessOf(dev, []);
    assert.equal(none.roleOn({ id: 'c1', resourceGroupId: 'rg1' }), undefined);
    assert.equal(none.mayCreate, false);
  });

  it("takes the strongest of the cluster's, its resource group's and global grants, to the user or their groups", () => {
    const access = accessOf(dev, [
      grant({ kind: 'user', name: 'dev' }, { kind: 'cluster', id: 'c1' }, 'viewer'),
      grant({ kind: 'group', name: 'cn=ops,dc=x' }, { kind: 'resource-group', id: 'rg1' }, 'operator'),
      // Someone else's grant, which an administrator's listing would show: not dev's.
      grant({ kind: 'user', name: 'eve' }, { kind: 'global' }, 'admin'),
    ]);
    assert.equal(access.roleOn({ id: 'c1', resourceGroupId: null }), 'viewer');
    assert.equal(access.roleOn({ id: 'c1', resourceGroupId: 'rg1' }), 'operator');
    assert.equal(access.roleOn({ id: 'c2', resourceGroupId: 'rg2' }), undefined);
    assert.equal(access.global, undefined);
    assert.equal(access.mayCreate, true, 'operator on a resource group may create there');
    assert.deepEqual([...access.operatorGroups], ['rg1']);
    assert.equal(mayOperate('viewer'), false);
    assert.equal(mayOperate('operator'), true);
  });
});

describe('labels and taints as typed', () => {
  it('reads key=value lists, and names the entry that is not one', () => {
    assert.deepEqual(parseLabels(' tier=web, zone=a '), { tier: 'web', zone: 'a' });
    assert.deepEqual(parseLabels(''), {});
    assert.equal(parseLabels('tier'), '“tier” is not key=value');
  });

  it('reads key[=value]:Effect lists, and names the entry that is not one', () => {
    assert.deepEqual(parseTaints('dedicated=batch:NoSchedule, gpu:NoExecute'), [
      { key: 'dedicated', value: 'batch', effect: 'NoSchedule' },
      { key: 'gpu', effect: 'NoExecute' },
    ]);
    assert.match(parseTaints('gpu:Sometimes') as string, /“gpu:Sometimes” is not key\[=value\]:NoSchedule/);
  });

  it('writes them back as they are typed, so that an edit starts from what the pool has', () => {
    const taints = 'dedicated=batch:NoSchedule, gpu:NoExecute';
    assert.equal(formatTaints(parseTaints(taints) as Taint[]), taints);
    assert.equal(formatLabels({ tier: 'web', zone: 'a' }), 'tier=web, zone=a');
    assert.deepEqual([formatLabels(undefined), formatTaints([])], ['', '']);
  });
});

describe('upgrade targets', () => {
  const sim: ProviderInfo = {
    name: 'sim',
    kubernetesVersions: ['1.33.1', '1.31.4', '1.32.2', '1.31.9', '1.30.0', '2.0.0'],
    contractVersion: '1',
    takesCredential: false,
  };
  it("offers the provider's newer versions at most one minor up, oldest first", () => {
    assert.deepEqual(upgradeTargets({ provider: 'sim', kubernetesVersion: '1.31.4' }, [sim]), ['1.31.9', '1.32.2']);
    assert.deepEqual(upgradeTargets({ provider: 'sim', kubernetesVersion: '1.33.1' }, [sim]), []);
    assert.deepEqual(upgradeTargets({ provider: 'other', kubernetesVersion: '1.31.4' }, [sim]), []);
  });
});

describe('a field checked against its schema', () => {
  const name = { type: 'string', minLength: 1, maxLength: 40, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' };
  it('says what is wrong with a text, or nothing', () => {
    assert.equal(fieldProblem(name, 'web-1'), undefined);
    assert.equal(fieldProblem(name, ''), 'required');
    assert.match(fieldProblem(name, 'Web_1')!, /does not match/);
    assert.equal(fieldProblem(name, 'a'.repeat(41)), 'at most 40 characters');
    assert.equal(fieldProblem(undefined, 'anything'), undefined, 'no schema (not loaded): no opinion');
  });
  it('says what is wrong with a number', () => {
    const count = { type: 'integer', minimum: 0, maximum: 500 };
    assert.equal(fieldProblem(count, 3, '3'), undefined);
    assert.equal(fieldProblem(count, 0, ''), 'required');
    assert.equal(fieldProblem(count, 1.5, '1.5'), 'a whole number');
    assert.equal(fieldProblem(count, 501, '501'), 'at most 500');
  });
});
