import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildClusterRequest, fromClusterDocument, readClusterDocuments } from './cluster-request.js';
import { EXIT, type CliError } from './exit-codes.js';

describe('cx create cluster request', () => {
  it('builds the smallest request from flags', () => {
    assert.deepEqual(
      buildClusterRequest('demo', {
        provider: 'sim',
        version: '1.31.4',
        controlPlane: 3,
        pools: [{ name: 'workers', count: 2, labels: { tier: 'web' } }],
      }),
      {
        name: 'demo',
        provider: 'sim',
        kubernetesVersion: '1.31.4',
        controlPlane: { count: 3 },
        nodePools: [{ name: 'workers', count: 2, labels: { tier: 'web' } }],
      },
    );
  });

  it('takes a cluster as cx get -o yaml prints it, without what the server added; flags win', () => {
    const exported = {
      id: 'c1',
      name: 'demo',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      status: 'Ready',
      statusMessage: null,
      controlPlane: { count: 3, vcpus: 2, memoryMiB: 4096, schedulable: false },
      nodePools: [{ name: 'workers', count: 2 }],
      activeWorkflowId: null,
      resourceGroupId: 'rg1',
      apiEndpoint: null,
      apiVip: null,
      healthStatus: null,
      template: { id: 't1', name: 'small' },
      createdBy: 'u',
      createdAt: 'x',
      updatedAt: 'y',
    };
    assert.deepEqual(fromClusterDocument(exported), {
      name: 'demo',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 3, vcpus: 2, memoryMiB: 4096, schedulable: false },
      nodePools: [{ name: 'workers', count: 2 }],
      resourceGroup: 'rg1',
    });
    const request = buildClusterRequest(undefined, { controlPlane: 5, pools: [{ name: 'big', count: 9 }] }, exported);
    assert.equal(request.name, 'demo');
    assert.deepEqual(request.controlPlane, { count: 5, vcpus: 2, memoryMiB: 4096, schedulable: false });
    assert.deepEqual(request.nodePools, [{ name: 'big', count: 9 }]);
  });

  it('needs provider, version and control plane unless a template completes the request', () => {
    assert.throws(() => buildClusterRequest('demo', { provider: 'sim' }), /missing --version, --control-plane/);
    assert.deepEqual(buildClusterRequest('demo', { template: 'small' }), { name: 'demo', template: 'small' });
    assert.throws(() => buildClusterRequest(undefined, {}), /name the cluster/);
    assert.throws(
      () => buildClusterRequest('b', { template: 't' }, { name: 'a' }),
      /the file names the cluster a, the command b/,
    );
  });

  it('names the addons of --addon, with their default settings; none given, none sent', () => {
    assert.deepEqual(buildClusterRequest('demo', { template: 'small', addons: ['metrics-server', 'ingress-nginx'] }), {
      name: 'demo',
      template: 'small',
      addons: [{ name: 'metrics-server' }, { name: 'ingress-nginx' }],
    });
    assert.equal(buildClusterRequest('demo', { template: 'small', addons: [] })['addons'], undefined);
  });
});

describe('the clusters of cx apply -f / cx diff -f', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cx-apply-files-'));
  writeFileSync(join(dir, 'a.yaml'), 'name: a\nprovider: sim\n---\nname: b\n');
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ items: [{ name: 'c' }, { name: 'd' }] }));
  writeFileSync(join(dir, 'notes.txt'), 'not a cluster');

  it('reads several documents of a file, a list as cx get clusters -o yaml prints it, and a directory in name order', () => {
    assert.deepEqual(
      readClusterDocuments(join(dir, 'a.yaml')).map((d) => [d.source.replace(dir, ''), d.document['name']]),
      [
        ['/a.yaml (document 1)', 'a'],
        ['/a.yaml (document 2)', 'b'],
      ],
    );
    assert.deepEqual(
      readClusterDocuments(dir).map((d) => d.document['name']),
      ['a', 'b', 'c', 'd'],
      '.txt files are not read',
    );
  });

  it('says what is wrong with a file, as a usage error', () => {
    const bad = join(dir, 'bad', 'x.yaml');
    mkdirSync(join(dir, 'bad'));
    writeFileSync(bad, 'name: [unclosed');
    assert.throws(
      () => readClusterDocuments(bad),
      (e: CliError) => e.exitCode === EXIT.usage && /is not YAML/.test(e.message),
    );
    writeFileSync(bad, '- just\n- a list\n');
    assert.throws(() => readClusterDocuments(bad), /must hold clusters/);
    writeFileSync(bad, '');
    assert.throws(() => readClusterDocuments(bad), /holds no cluster/);
    assert.throws(
      () => readClusterDocuments(join(dir, 'missing.yaml')),
      (e: CliError) => e.exitCode === EXIT.error,
    );
    mkdirSync(join(dir, 'empty'));
    assert.throws(() => readClusterDocuments(join(dir, 'empty')), /has no \.yaml, \.yml or \.json file/);
  });
});
