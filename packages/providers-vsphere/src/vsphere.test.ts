import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { MachineSpec, Provider } from '@cx/sddc-contract';
import { VsphereProviderFactory, antiAffinityRuleName } from './index.js';
import { findByPath, retrieveOne, runTask } from './inventory.js';
import { FIELDS, GuestToolsStandIn, client, credential, vcsimPeer } from './vcsim-peer.js';
import { type MoRef, asMoRef, child, list, mor, text } from './vim-client.js';

const peer = vcsimPeer();
const factory = new VsphereProviderFactory();
const vim = client(peer);
const guest = new GuestToolsStandIn(peer);
const clusterId = `unit-${randomUUID().slice(0, 8)}`;
let provider: Provider;

const spec = (n: number, role: MachineSpec['role'] = 'worker', cluster = clusterId): MachineSpec => ({
  machineId: `${cluster}-m${n}`,
  clusterId: cluster,
  name: `${cluster}-m${n}`,
  role,
  pool: role,
  kubernetesVersion: '1.37.2',
});
const vmRef = (providerId: string): MoRef => ({ type: 'VirtualMachine', value: providerId });
const codeOf =
  (code: string) =>
  (error: unknown): boolean => {
    assert.equal((error as { code?: string }).code, code, String(error));
    return true;
  };

before(() => {
  provider = factory.connect(credential(peer));
  guest.start();
});
after(async () => {
  for (const machine of await provider.listMachines(clusterId))
    await provider.deleteMachine(clusterId, machine.machineId);
  await provider.close?.();
  await guest.stop();
  await vim.close();
});

describe('validateCredential against vcsim', () => {
  it('accepts the peer credential and its settings', async () => {
    await factory.validateCredential(credential(peer));
  });

  it('a closed port is CX_CREDENTIAL_UNREACHABLE', async () => {
    await assert.rejects(
      factory.validateCredential(credential(peer, { endpoint: 'https://127.0.0.1:9/sdk' })),
      codeOf('CX_CREDENTIAL_UNREACHABLE'),
    );
  });

  it('a self-signed certificate without caCert is CX_CREDENTIAL_UNTRUSTED', async () => {
    await assert.rejects(
      factory.validateCredential(credential(peer, { caCert: null })),
      codeOf('CX_CREDENTIAL_UNTRUSTED'),
    );
  });

  it('a wrong password is CX_CREDENTIAL_REJECTED and the message carries no password', async () => {
    await assert.rejects(
      factory.validateCredential(credential(peer, { password: 'not-the-password' })),
      (error: unknown) => {
        codeOf('CX_CREDENTIAL_REJECTED')(error);
        assert.ok(!(error as Error).message.includes('not-the-password'));
        return true;
      },
    );
  });

  it('a wrong template path is CX_INPUT_INVALID naming body.settings.template', async () => {
    await assert.rejects(
      factory.validateCredential(credential(peer, {}, { template: `/${peer.datacenter}/vm/no-such-template` })),
      (error: unknown) => {
        codeOf('CX_INPUT_INVALID')(error);
        assert.deepEqual(
          (error as { details: { fields: Array<{ field: string }> } }).details.fields.map((f) => f.field),
          ['body.settings.template'],
        );
        return true;
      },
    );
  });

  it('a path of the wrong kind (a datastore as network) names its setting', async () => {
    await assert.rejects(
      factory.validateCredential(credential(peer, {}, { network: `/${peer.datastore}` })),
      (error: unknown) => {
        codeOf('CX_INPUT_INVALID')(error);
        assert.equal(
          (error as { details: { fields: Array<{ field: string }> } }).details.fields[0]?.field,
          'body.settings.network',
        );
        return true;
      },
    );
  });
});

describe('the vSphere provider against vcsim', () => {
  it('hands cloud-init to the guest through guestinfo extraConfig and tags the VM', async () => {
    const s = spec(1);
    const userData = '#cloud-config\nwrite_files: [{path: /etc/cx, content: "a&b<c>"}]\n';
    const status = await provider.ensureMachine(s, {
      bootstrap: () => Promise.reject(new Error('unused')),
      userData: () => Promise.resolve(userData),
    });
    const props = await retrieveOne(vim, vmRef(status.providerId), [
      'config.extraConfig',
      'config.hardware.numCPU',
      'config.hardware.memoryMB',
      'customValue',
    ]);
    assert.ok(props, 'the VM is not in vCenter');
    const extra = new Map(
      list(child(props['config.extraConfig'], 'OptionValue')).map((o) => [
        text(child(o, 'key')),
        text(child(o, 'value')),
      ]),
    );
    assert.equal(extra.get('guestinfo.userdata.encoding'), 'base64');
    assert.equal(Buffer.from(extra.get('guestinfo.userdata') ?? '', 'base64').toString(), userData);
    assert.equal(extra.get('guestinfo.metadata.encoding'), 'base64');
    assert.match(
      Buffer.from(extra.get('guestinfo.metadata') ?? '', 'base64').toString(),
      new RegExp(`local-hostname: "${s.name}"`),
    );
    assert.equal(text(props['config.hardware.numCPU']), '2');
    assert.equal(text(props['config.hardware.memoryMB']), '2048');
    // The cx-cluster and cx-machine custom attributes, read back by their definitions.
    const { customFieldsManager } = await vim.serviceContent();
    const defs = list(child((await retrieveOne(vim, customFieldsManager, ['field']))?.['field'], 'CustomFieldDef'));
    const keyOf = (name: string): string | undefined =>
      text(
        child(
          defs.find((d) => text(child(d, 'name')) === name),
          'key',
        ),
      );
    const values = new Map(
      list(child(props['customValue'], 'CustomFieldValue')).map((v) => [
        text(child(v, 'key')),
        text(child(v, 'value')),
      ]),
    );
    assert.equal(values.get(keyOf(FIELDS.cluster)), clusterId);
    assert.equal(values.get(keyOf(FIELDS.machine)), s.machineId);
  });

  it('uses the machine class sizes from spec.resources', async () => {
    const status = await provider.ensureMachine({ ...spec(2), resources: { vcpus: 4, memoryMiB: 8192 } });
    const props = await retrieveOne(vim, vmRef(status.providerId), [
      'config.hardware.numCPU',
      'config.hardware.memoryMB',
    ]);
    assert.equal(text(props?.['config.hardware.numCPU']), '4');
    assert.equal(text(props?.['config.hardware.memoryMB']), '8192');
  });

  it('attaches the first NIC to the network of the settings and grows the disk', async () => {
    const nicOf = async (providerId: string) => {
      const devices = list(
        child(
          (await retrieveOne(vim, vmRef(providerId), ['config.hardware.device']))?.['config.hardware.device'],
          'VirtualDevice',
        ),
      );
      return {
        nic: devices.find((d) => child(d, '@_xsi:type') === 'VirtualE1000'),
        disk: devices.find((d) => child(d, '@_xsi:type') === 'VirtualDisk'),
      };
    };
    // The template's NIC is on the distributed port group; the settings move it to "VM Network".
    const standard = await nicOf((await provider.ensureMachine({ ...spec(3), resources: { diskGiB: 20 } })).providerId);
    assert.equal(child(child(standard.nic, 'backing'), '@_xsi:type'), 'VirtualEthernetCardNetworkBackingInfo');
    assert.equal(text(child(child(standard.nic, 'backing'), 'deviceName')), peer.network.split('/').pop());
    assert.equal(text(child(standard.disk, 'capacityInKB')), String(20 * 1024 * 1024));
    // The clone's disk is its own file: the template's is untouched (deleting the clone keeps it).
    const template = await findByPath(vim, peer.template);
    assert.ok(template);
    const templateDisk = list(
      child(
        (await retrieveOne(vim, template, ['config.hardware.device']))?.['config.hardware.device'],
        'VirtualDevice',
      ),
    ).find((d) => child(d, '@_xsi:type') === 'VirtualDisk');
    assert.notEqual(
      text(child(child(standard.disk, 'backing'), 'fileName')),
      text(child(child(templateDisk, 'backing'), 'fileName')),
    );
    assert.notEqual(text(child(templateDisk, 'capacityInKB')), String(20 * 1024 * 1024));
    const dvpg = await findByPath(vim, `${peer.datacenter}/network/DC0_DVPG0`);
    assert.ok(dvpg);
    const onDvpg = factory.connect(credential(peer, {}, { network: `/${peer.datacenter}/network/DC0_DVPG0` }));
    try {
      const distributed = await nicOf((await onDvpg.ensureMachine(spec(4))).providerId);
      assert.equal(text(child(child(child(distributed.nic, 'backing'), 'port'), 'portgroupKey')), dvpg.value);
    } finally {
      await onDvpg.close?.();
    }
  });

  it('adopts its own clone left untagged by a crash (DuplicateName)', async () => {
    const s = spec(5);
    const template = await findByPath(vim, peer.template);
    const folder = await findByPath(vim, peer.folder);
    const pool = await findByPath(vim, peer.resourcePool);
    assert.ok(template && folder && pool);
    // What a crash right after CloneVM_Task leaves: the VM with the marks, no custom attributes.
    const orphan = asMoRef(
      await runTask(
        vim,
        'CloneVM_Task',
        {
          _this: mor(template),
          folder: mor(folder),
          name: s.name,
          spec: { location: { pool: mor(pool) }, template: false, powerOn: false },
        },
        30_000,
      ),
    );
    assert.ok(orphan);
    await runTask(
      vim,
      'ReconfigVM_Task',
      {
        _this: mor(orphan),
        spec: {
          extraConfig: [
            { key: 'cx.cluster', value: { '@_xsi:type': 'xsd:string', '#text': s.clusterId } },
            { key: 'cx.machine', value: { '@_xsi:type': 'xsd:string', '#text': s.machineId } },
          ],
        },
      },
      30_000,
    );
    assert.equal(await provider.getMachine(clusterId, s.machineId), null);
    const status = await provider.ensureMachine(s);
    assert.equal(status.providerId, orphan.value);
    assert.equal((await provider.getMachine(clusterId, s.machineId))?.providerId, orphan.value);
    // Never started before the crash: ensureMachine starts it.
    assert.equal(status.powerState, 'on');
    assert.equal(text((await retrieveOne(vim, orphan, ['runtime.powerState']))?.['runtime.powerState']), 'poweredOn');
    // Once started, a machine powered off on purpose (fencing) stays off when ensured again.
    await provider.setPower(clusterId, s.machineId, 'off');
    assert.equal((await provider.ensureMachine(s)).powerState, 'off');
    assert.equal(text((await retrieveOne(vim, orphan, ['runtime.powerState']))?.['runtime.powerState']), 'poweredOff');
  });

  it('two replicas ensuring one machine at once create one VM', async () => {
    const s = spec(6);
    const replicas = [factory.connect(credential(peer)), factory.connect(credential(peer))];
    try {
      const results = await Promise.allSettled(replicas.flatMap((p) => [p.ensureMachine(s), p.ensureMachine(s)]));
      for (const result of results) {
        // The loser may meet the winner's clone before it is marked: a retryable NameTaken.
        if (result.status === 'rejected')
          assert.equal((result.reason as { retryable?: boolean }).retryable, true, String(result.reason));
      }
      const again = await replicas[1]!.ensureMachine(s);
      const listed = (await provider.listMachines(clusterId)).filter((m) => m.machineId === s.machineId);
      assert.deepEqual(
        listed.map((m) => m.providerId),
        [again.providerId],
      );
    } finally {
      await Promise.all(replicas.map((p) => p.close?.()));
    }
  });

  it('keeps a DRS anti-affinity rule with exactly the control-plane VMs', async () => {
    const cluster = await findByPath(vim, peer.computeCluster);
    assert.ok(cluster);
    const ruleVms = async (): Promise<string[] | undefined> => {
      const rules = list(child((await retrieveOne(vim, cluster, ['configurationEx']))?.['configurationEx'], 'rule'));
      const rule = rules.find((r) => text(child(r, 'name')) === antiAffinityRuleName(clusterId));
      if (!rule) return undefined;
      assert.equal(child(rule, '@_xsi:type'), 'ClusterAntiAffinityRuleSpec');
      assert.equal(text(child(rule, 'enabled')), 'true');
      return list(child(rule, 'vm'))
        .map((v) => text(v) ?? '')
        .sort();
    };
    const cps = await Promise.all([10, 11, 12].map((n) => provider.ensureMachine(spec(n, 'control-plane'))));
    await provider.ensureMachine(spec(13, 'worker'));
    assert.deepEqual(await ruleVms(), cps.map((m) => m.providerId).sort());
    await provider.deleteMachine(clusterId, spec(12).machineId);
    assert.deepEqual(
      await ruleVms(),
      cps
        .slice(0, 2)
        .map((m) => m.providerId)
        .sort(),
    );
    await provider.deleteMachine(clusterId, spec(11).machineId);
    assert.equal(await ruleVms(), undefined, 'a rule with one VM is removed');
  });

  it('does not list a VM created outside cx, nor one of another cluster', async () => {
    const template = await findByPath(vim, peer.template);
    const folder = await findByPath(vim, peer.folder);
    const pool = await findByPath(vim, peer.resourcePool);
    assert.ok(template && folder && pool);
    const outside = asMoRef(
      await runTask(
        vim,
        'CloneVM_Task',
        {
          _this: mor(template),
          folder: mor(folder),
          name: `outside-${clusterId}`,
          spec: { location: { pool: mor(pool) }, template: false, powerOn: false },
        },
        30_000,
      ),
    );
    assert.ok(outside);
    const other = `${clusterId}-other`;
    const theirs = await provider.ensureMachine(spec(20, 'worker', other));
    try {
      const listed = await provider.listMachines(clusterId);
      assert.ok(listed.length > 0);
      assert.ok(!listed.some((m) => m.providerId === outside.value || m.providerId === theirs.providerId));
      assert.ok(listed.every((m) => m.tags.cluster === clusterId));
    } finally {
      await provider.deleteMachine(other, theirs.machineId);
      await runTask(vim, 'Destroy_Task', { _this: mor(outside) }, 30_000);
    }
  });

  it('refuses to adopt a VM of the same name that is not this machine', async () => {
    const s = spec(30);
    const template = await findByPath(vim, peer.template);
    const folder = await findByPath(vim, peer.folder);
    const pool = await findByPath(vim, peer.resourcePool);
    assert.ok(template && folder && pool);
    const squatter = asMoRef(
      await runTask(
        vim,
        'CloneVM_Task',
        {
          _this: mor(template),
          folder: mor(folder),
          name: s.name,
          spec: { location: { pool: mor(pool) }, template: false, powerOn: false },
        },
        30_000,
      ),
    );
    assert.ok(squatter);
    try {
      await assert.rejects(provider.ensureMachine(s), (error: unknown) => {
        codeOf('CX_PROVIDER_ERROR')(error);
        assert.equal((error as { details: { reason: string } }).details.reason, 'NameTaken');
        return true;
      });
    } finally {
      await runTask(vim, 'Destroy_Task', { _this: mor(squatter) }, 30_000);
    }
  });

  it('linkedClone without a template snapshot fails with TemplateHasNoSnapshot', async () => {
    const linked = factory.connect(credential(peer, {}, { linkedClone: true }));
    try {
      await assert.rejects(linked.ensureMachine(spec(40)), (error: unknown) => {
        assert.equal((error as { details: { reason: string } }).details.reason, 'TemplateHasNoSnapshot');
        return true;
      });
    } finally {
      await linked.close?.();
    }
  });

  it('a template path that no longer resolves fails with TemplateNotFound', async () => {
    const broken = factory.connect(credential(peer, {}, { template: `/${peer.datacenter}/vm/gone` }));
    try {
      await assert.rejects(broken.ensureMachine(spec(41)), (error: unknown) => {
        assert.equal((error as { details: { reason: string } }).details.reason, 'TemplateNotFound');
        return true;
      });
    } finally {
      await broken.close?.();
    }
  });

  it('power actions on an unknown machine are CX_NOT_FOUND', async () => {
    await assert.rejects(provider.setPower(clusterId, 'never-created', 'off'), codeOf('CX_NOT_FOUND'));
    await assert.rejects(provider.getPowerState(clusterId, 'never-created'), codeOf('CX_NOT_FOUND'));
  });

  it('logs in again once when the session was ended', async () => {
    const own = client(peer);
    try {
      const { sessionManager } = await own.serviceContent();
      await own.call('Logout', { _this: mor(sessionManager) });
      // The cookie is now dead: the next call meets NotAuthenticated and must log in again.
      const { rootFolder } = await own.serviceContent();
      assert.equal(text((await retrieveOne(own, rootFolder, ['name']))?.['name']), 'Datacenters');
    } finally {
      await own.close();
    }
  });
});
