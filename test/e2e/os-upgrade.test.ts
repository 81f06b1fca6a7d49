/**
 * The OS image upgrade of a vSphere cluster's workers (POST /clusters/{id}/os-upgrade) through the
 * public API, checked on vcsim with govc. vcsim boots no OS, so no kubelet ever registers: the
 * upgrade creates the replacement VM from the new template, then waits in vain for its node, and
 * fails with NodesNotReady after the deadline (10 s here) — with the old VM still there, as
 * nothing is removed before its replacement is Ready. Rolling the failed upgrade back then removes
 * the replacement VM, keeps the old one and restores the previous image. The full rolling replacement against a
 * tenant whose nodes do turn Ready is covered by services/wfm/src/workflows/cluster-os-upgrade.test.ts
 * and, on the kwok runtime's real kube-apiserver, by rolling-replacement.test.ts.
 * Refusals (unknown template, sim cluster, cluster without workers, busy cluster) change nothing.
 * On OpenStack (the Nova/Neutron test double, which has one image) the image is checked in Glance
 * and the replacement server boots it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Api, startCx, type CxProcess } from '../support/cx.js';
import {
  openstackCredential,
  openstackGet,
  openstackPeer,
  vcsimPeer,
  vsphereCredential,
} from '../support/infrastructure.js';

const run = promisify(execFile);

async function govc(...args: string[]): Promise<string> {
  const vc = vcsimPeer();
  const { stdout } = await run(vc.govc, args, {
    env: {
      ...process.env,
      GOVC_URL: new URL(vc.url).host,
      GOVC_USERNAME: vc.username,
      GOVC_PASSWORD: vc.password,
      GOVC_TLS_CA_CERTS: vc.caFile,
    },
  });
  return stdout;
}

interface VmInfo {
  name: string;
  config: { guestId: string };
  customValue?: Array<{ value: string }>;
}

/** The VMs of the cluster (by the `cx-cluster` custom attribute), with the guest OS they were cloned with. */
async function vmsOf(clusterId: string): Promise<Array<{ name: string; guestId: string }>> {
  const listing = JSON.parse(await govc('find', '-json', '-type', 'm', '/')) as unknown;
  const paths = (Array.isArray(listing) ? listing : ((listing as { elements?: string[] }).elements ?? [])) as string[];
  const vms: Array<{ name: string; guestId: string }> = [];
  for (const path of paths) {
    const vm = (JSON.parse(await govc('vm.info', '-json', path)) as { virtualMachines?: VmInfo[] })
      .virtualMachines?.[0];
    if (vm?.customValue?.some((v) => v.value === clusterId)) vms.push({ name: vm.name, guestId: vm.config.guestId });
  }
  return vms.sort((a, b) => a.name.localeCompare(b.name));
}

describe('OS image upgrade on vSphere (vcsim)', () => {
  let cx: CxProcess;
  let admin: Api;
  /** A template of "the new OS": a clone of a vcsim VM whose guest OS differs from the credential's template's, which its clones inherit. */
  const template = `cx-os-v2-${process.pid}`;
  const templatePath = `/DC0/vm/${template}`;
  /** VM names are the machines' names: unique per run, so that VMs a killed earlier run left on the shared vcsim do not collide. */
  const name = `osu${process.pid}`;

  before(async () => {
    const vc = vcsimPeer();
    await govc(
      'vm.clone',
      '-vm',
      '/DC0/vm/DC0_C0_RP0_VM1',
      '-on=false',
      '-folder',
      `/${vc.folder}`,
      '-pool',
      '/DC0/host/DC0_C0/Resources',
      template,
    );
    await govc('vm.change', '-vm', templatePath, '-g', 'ubuntu64Guest');
    cx = await startCx({ env: { CX_WORKFLOWS_NODES_READY_TIMEOUT_SECONDS: '10' } });
    admin = await Api.login(cx.base);
  });
  after(async () => {
    await cx?.stop();
    await govc('vm.destroy', templatePath).catch(() => undefined);
  });

  const create = async (body: Record<string, unknown>): Promise<{ id: string; workflowId: string }> => {
    const accepted = await admin.call('POST', '/api/v1/clusters', body);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    return { id: accepted.body.cluster.id as string, workflowId: accepted.body.workflow.id as string };
  };

  it('replaces a worker with a VM cloned from the new template and keeps the old one until the new node is Ready; bad requests change nothing', async () => {
    const credential = await admin.call('POST', '/api/v1/credentials', vsphereCredential('vc-os'));
    assert.equal(credential.status, 201, JSON.stringify(credential.body));
    assert.equal(
      (await admin.call('POST', '/api/v1/resource-groups', { name: 'os-vsphere', credentialId: credential.body.id }))
        .status,
      201,
    );
    const version = (await admin.call('GET', '/api/v1/providers')).body.items.find(
      (p: { name: string }) => p.name === 'vsphere',
    ).kubernetesVersions[0];
    const cluster = await create({
      name,
      provider: 'vsphere',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 1 }],
      resourceGroup: 'os-vsphere',
    });

    // Busy: the create workflow still runs.
    const busy = await admin.call('POST', `/api/v1/clusters/${cluster.id}/os-upgrade`, { image: templatePath });
    assert.equal(busy.status, 409, JSON.stringify(busy.body));
    assert.equal(busy.body.code, 'CX_CLUSTER_BUSY');
    await admin.waitForWorkflow(cluster.workflowId, ['Failed', 'Succeeded'], 120_000);
    const before = await vmsOf(cluster.id);
    assert.deepEqual(
      before.map((vm) => vm.name),
      [`${name}-cp-0`, `${name}-workers-0`],
    );
    assert.ok(
      before.every((vm) => vm.guestId !== 'ubuntu64Guest'),
      JSON.stringify(before),
    );

    // A template vCenter does not have: refused before anything is stored or cloned.
    const unknown = await admin.call('POST', `/api/v1/clusters/${cluster.id}/os-upgrade`, {
      image: '/DC0/vm/no-such-template',
    });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.equal(unknown.body.fields?.[0]?.field, 'body.image');
    const notVm = await admin.call('POST', `/api/v1/clusters/${cluster.id}/os-upgrade`, {
      image: '/DC0/network/VM Network',
    });
    assert.equal(notVm.status, 400, JSON.stringify(notVm.body));
    const unchanged = (await admin.call('GET', `/api/v1/clusters/${cluster.id}`)).body;
    assert.equal(unchanged.osImage, null);
    assert.equal(unchanged.activeWorkflowId, null);
    assert.deepEqual(await vmsOf(cluster.id), before);

    const accepted = await admin.call('POST', `/api/v1/clusters/${cluster.id}/os-upgrade`, {
      image: templatePath,
      maxSurge: 1,
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const upgrade = await admin.waitForWorkflow(accepted.body.workflow.id, ['Failed', 'Succeeded'], 120_000);
    assert.equal(upgrade.workflow, 'cluster.os-upgrade');
    const failed = upgrade.steps.find((s: { status: string }) => s.status === 'Failed');
    assert.equal(failed?.name, 'replace-workers', JSON.stringify(upgrade.steps));
    assert.equal(failed.error.reason, 'NodesNotReady');
    assert.match(failed.error.message, new RegExp(`not Ready: ${name}-workers-1\\..*the old machines are still there`));
    assert.deepEqual(
      await vmsOf(cluster.id),
      [...before, { name: `${name}-workers-1`, guestId: 'ubuntu64Guest' }],
      'the replacement is cloned from the new template; the old worker stays until its replacement is Ready',
    );
    const after = (await admin.call('GET', `/api/v1/clusters/${cluster.id}`)).body;
    assert.equal(after.osImage, templatePath, 'machines created from now on boot the new image');
    assert.equal(after.status, 'Failed', 'the failed upgrade fails the cluster until it is retried or rolled back');
    assert.deepEqual(
      after.nodePools.map((p: { name: string; count: number }) => [p.name, p.count]),
      [['workers', 1]],
      'the pool keeps its size',
    );

    // Roll the failed upgrade back: the replacement goes, the old worker stays, new machines boot the previous image.
    const notUpgrade = await admin.call('POST', `/api/v1/workflows/${cluster.workflowId}/rollback`);
    assert.equal(notUpgrade.status, 400, JSON.stringify(notUpgrade.body));
    assert.match(notUpgrade.body.detail, /only an OS upgrade \(cluster\.os-upgrade\) rolls back/);
    const rollback = await admin.call('POST', `/api/v1/workflows/${upgrade.id}/rollback`);
    assert.equal(rollback.status, 202, JSON.stringify(rollback.body));
    const rolled = await admin.waitForWorkflow(rollback.body.workflow.id, ['Failed', 'Succeeded'], 120_000);
    assert.equal(rolled.status, 'Succeeded', JSON.stringify(rolled.steps));
    assert.deepEqual(
      rolled.steps.map((s: { name: string }) => s.name),
      ['undo-replacements', 'restore-image', 'mark-ready'],
    );
    assert.deepEqual(await vmsOf(cluster.id), before, 'the replacement VM is gone, the old worker is untouched');
    const restored = (await admin.call('GET', `/api/v1/clusters/${cluster.id}`)).body;
    assert.deepEqual([restored.osImage, restored.activeWorkflowId], [null, null]);
    assert.deepEqual(
      (await admin.call('GET', `/api/v1/clusters/${cluster.id}/nodes`)).body.items
        .map((n: { name: string }) => n.name)
        .sort(),
      [`${name}-cp-0`, `${name}-workers-0`],
    );
    const again = await admin.call('POST', `/api/v1/workflows/${upgrade.id}/rollback`);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.match(again.body.detail, /rolled back already/);

    const deleting = await admin.call('DELETE', `/api/v1/clusters/${cluster.id}`);
    assert.equal(deleting.status, 202, JSON.stringify(deleting.body));
    assert.equal(
      (await admin.waitForWorkflow(deleting.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    assert.deepEqual(await vmsOf(cluster.id), [], 'the replacement goes with the cluster too');
  });

  it('refuses providers without OS images and clusters without workers (400), changing nothing', async () => {
    const sim = await create({
      name: `${name}-sim`,
      provider: 'sim',
      kubernetesVersion: (await admin.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'sim',
      ).kubernetesVersions[0],
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 1 }],
    });
    await admin.waitForWorkflow(sim.workflowId, ['Succeeded'], 120_000);
    const onSim = await admin.call('POST', `/api/v1/clusters/${sim.id}/os-upgrade`, { image: templatePath });
    assert.equal(onSim.status, 400, JSON.stringify(onSim.body));
    assert.match(onSim.body.detail, /provider sim has no OS image/);
    const simAfter = (await admin.call('GET', `/api/v1/clusters/${sim.id}`)).body;
    assert.equal(simAfter.status, 'Ready');
    assert.equal(simAfter.osImage, null);

    const version = (await admin.call('GET', '/api/v1/providers')).body.items.find(
      (p: { name: string }) => p.name === 'vsphere',
    ).kubernetesVersions[0];
    const cpOnly = await create({
      name: `${name}-c`,
      provider: 'vsphere',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      nodePools: [],
      resourceGroup: 'os-vsphere',
    });
    await admin.waitForWorkflow(cpOnly.workflowId, ['Failed', 'Succeeded'], 120_000);
    const noWorkers = await admin.call('POST', `/api/v1/clusters/${cpOnly.id}/os-upgrade`, { image: templatePath });
    assert.equal(noWorkers.status, 400, JSON.stringify(noWorkers.body));
    assert.match(noWorkers.body.detail, /has no workers; an OS upgrade replaces workers only/);
    assert.deepEqual(
      (await vmsOf(cpOnly.id)).map((vm) => vm.name),
      [`${name}-c-cp-0`],
    );
    const deleting = await admin.call('DELETE', `/api/v1/clusters/${cpOnly.id}`);
    await admin.waitForWorkflow(deleting.body.workflow.id, ['Succeeded'], 120_000);
  });

  it("on openstack, checks the Glance image with the cluster's credential and boots the replacement from it", async () => {
    const credential = await admin.call('POST', '/api/v1/credentials', openstackCredential('os-os'));
    assert.equal(credential.status, 201, JSON.stringify(credential.body));
    assert.equal(
      (await admin.call('POST', '/api/v1/resource-groups', { name: 'os-openstack', credentialId: credential.body.id }))
        .status,
      201,
    );
    const version = (await admin.call('GET', '/api/v1/providers')).body.items.find(
      (p: { name: string }) => p.name === 'openstack',
    ).kubernetesVersions[0];
    const cluster = await create({
      name: `${name}-o`,
      provider: 'openstack',
      kubernetesVersion: version,
      controlPlane: { count: 1 },
      nodePools: [{ name: 'workers', count: 1 }],
      resourceGroup: 'os-openstack',
    });
    await admin.waitForWorkflow(cluster.workflowId, ['Failed', 'Succeeded'], 120_000);
    const servers = async (): Promise<Array<{ name: string; image: { id: string } }>> =>
      (
        await openstackGet<{
          servers: Array<{ name: string; image: { id: string }; metadata: Record<string, string> }>;
        }>('compute', 'servers/detail')
      ).servers
        .filter((s) => s.metadata['cx-cluster'] === cluster.id)
        .sort((a, b) => a.name.localeCompare(b.name));

    const unknown = await admin.call('POST', `/api/v1/clusters/${cluster.id}/os-upgrade`, { image: 'no-such-image' });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.equal(unknown.body.fields?.[0]?.field, 'body.image');
    assert.deepEqual(
      (await servers()).map((s) => s.name),
      [`${name}-o-cp-0`, `${name}-o-workers-0`],
    );

    // The double has one image: the upgrade names it again, and the replacement boots it.
    const imageId = (await servers())[0]!.image.id;
    const accepted = await admin.call('POST', `/api/v1/clusters/${cluster.id}/os-upgrade`, {
      image: openstackPeer().image,
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const upgrade = await admin.waitForWorkflow(accepted.body.workflow.id, ['Failed', 'Succeeded'], 120_000);
    assert.equal(
      upgrade.steps.find((s: { status: string }) => s.status === 'Failed')?.error.reason,
      'NodesNotReady',
      JSON.stringify(upgrade.steps),
    );
    assert.deepEqual(
      (await servers()).map((s) => [s.name, s.image.id]),
      [
        [`${name}-o-cp-0`, imageId],
        [`${name}-o-workers-0`, imageId],
        [`${name}-o-workers-1`, imageId],
      ],
    );
    assert.equal((await admin.call('GET', `/api/v1/clusters/${cluster.id}`)).body.osImage, openstackPeer().image);
    const deleting = await admin.call('DELETE', `/api/v1/clusters/${cluster.id}`);
    assert.equal(
      (await admin.waitForWorkflow(deleting.body.workflow.id, ['Succeeded', 'Failed'], 120_000)).status,
      'Succeeded',
    );
    assert.deepEqual(await servers(), []);
  });
});
