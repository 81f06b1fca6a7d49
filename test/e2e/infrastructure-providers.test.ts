/**
 * The real providers through the public API only, against their real peers (vcsim, sushy-tools,
 * ipmi_sim), checked on the peers themselves rather than through cx: credentials and BMCs are
 * checked before anything is stored, a cluster's machines appear on the infrastructure tagged with
 * it, and nothing is left once the cluster is deleted. The peers boot no operating system, so no
 * kubelet ever registers: the create workflow fails at its nodes-Ready deadline, saying why.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { Api, freePort, startCx, type CxProcess } from '../support/cx.js';
import {
  ipmiHost,
  ipmiPeer,
  openstackClusterObjects,
  openstackCredential,
  openstackGet,
  openstackPeer,
  openstackServers,
  redfishHost,
  redfishPeer,
  vcsimPeer,
  vsphereCredential,
} from '../support/infrastructure.js';

const run = promisify(execFile);

describe('infrastructure providers, end to end', () => {
  let cx: CxProcess;
  let admin: Api;

  before(async () => {
    cx = await startCx({
      // debug: the seed tests read the whole log for user data and seed tokens.
      env: {
        CX_WORKFLOWS_NODES_READY_TIMEOUT_SECONDS: '10',
        CX_BAREMETAL_CLEANING_CHECK_SECONDS: '1',
        CX_LOG_LEVEL: 'debug',
      },
    });
    admin = await Api.login(cx.base);
  });
  after(async () => {
    await cx?.stop();
  });

  /**
   * Creates the cluster and waits for its create workflow to fail at `wait-nodes-ready` with the
   * reason NodesNotReady (no kubelet ever registers on these peers; the deadline is 10 s here),
   * checks the infrastructure, then deletes the cluster and checks again.
   */
  const createThenDelete = async (
    body: Record<string, unknown>,
    onInfrastructure: (clusterId: string) => Promise<void>,
    whenGone: (clusterId: string) => Promise<void>,
  ): Promise<void> => {
    const accepted = await admin.call('POST', '/api/v1/clusters', body);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const clusterId = accepted.body.cluster.id as string;
    const run = await admin.waitForWorkflow(accepted.body.workflow.id as string, ['Failed', 'Succeeded'], 120_000);
    const failed = run.steps.find((s: { status: string }) => s.status === 'Failed');
    assert.equal(
      failed?.name,
      'wait-nodes-ready',
      `the machines were not provisioned: ${JSON.stringify(run.steps.map((s: { name: string; status: string; error: unknown }) => [s.name, s.status, s.error]))}`,
    );
    assert.equal(failed.error.reason, 'NodesNotReady');
    assert.match(failed.error.message, /0\/\d+ nodes Ready after \d+ s .*not Ready: /);
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).body.status, 'Failed');
    await onInfrastructure(clusterId);
    const deleting = await admin.call('DELETE', `/api/v1/clusters/${clusterId}`);
    assert.equal(deleting.status, 202, JSON.stringify(deleting.body));
    await admin.waitForWorkflow(deleting.body.workflow.id, ['Succeeded'], 120_000);
    assert.equal((await admin.call('GET', `/api/v1/clusters/${clusterId}`)).status, 404);
    await whenGone(clusterId);
  };

  /**
   * Scales `pool` to `up`: the machines `added` are created, then their nodes awaited until the
   * deadline (in vain on these peers); `whileUp` checks the peer. Then back to `down`, removing the
   * machines named in `remove`.
   */
  const scaleUpAndDown = async (
    clusterId: string,
    pool: string,
    { up, added }: { up: number; added: string[] },
    { down, remove }: { down: number; remove: string[] },
    whileUp: () => Promise<void>,
  ): Promise<void> => {
    const grow = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/${pool}`, { count: up });
    assert.equal(grow.status, 202, JSON.stringify(grow.body));
    const grown = await admin.waitForWorkflow(grow.body.workflow.id, ['Failed', 'Succeeded'], 120_000);
    const late = grown.steps.find((s: { status: string }) => s.status === 'Failed');
    assert.equal(late?.error.reason, 'NodesNotReady', JSON.stringify(grown.steps));
    assert.match(
      late.error.message,
      new RegExp(`not Ready: ${added.join(', ')}\\.`),
      'only the new machines are awaited',
    );
    await whileUp();
    const shrink = await admin.call('PATCH', `/api/v1/clusters/${clusterId}/nodepools/${pool}`, {
      count: down,
      remove,
    });
    assert.equal(shrink.status, 202, JSON.stringify(shrink.body));
    assert.equal(
      (await admin.waitForWorkflow(shrink.body.workflow.id, ['Failed', 'Succeeded'], 120_000)).status,
      'Succeeded',
    );
  };

  describe('vsphere on vcsim', () => {
    const govc = async (...args: string[]): Promise<string> => {
      const vc = vcsimPeer();
      const url = new URL(vc.url);
      const { stdout } = await run(vc.govc, args, {
        env: {
          ...process.env,
          GOVC_URL: `${url.host}`,
          GOVC_USERNAME: vc.username,
          GOVC_PASSWORD: vc.password,
          GOVC_TLS_CA_CERTS: vc.caFile,
        },
      });
      return stdout;
    };
    /** The VMs vcsim has whose `cx-cluster` custom attribute is the cluster id, read with govc. */
    const vmsOf = async (clusterId: string): Promise<string[]> => {
      const listing = JSON.parse(await govc('find', '-json', '-type', 'm', '/')) as unknown;
      const paths = (
        Array.isArray(listing) ? listing : ((listing as { elements?: string[] }).elements ?? [])
      ) as string[];
      const names: string[] = [];
      for (const path of paths) {
        const info = JSON.parse(await govc('vm.info', '-json', path)) as {
          virtualMachines?: Array<{ name: string; customValue?: Array<{ value: string }> }>;
        };
        const vm = info.virtualMachines?.[0];
        if (vm?.customValue?.some((v) => v.value === clusterId)) names.push(vm.name);
      }
      return names.sort();
    };

    it('checks a credential against vCenter before storing it; each failure has its own code and stores nothing', async () => {
      const before = (await admin.call('GET', '/api/v1/credentials')).body.items.length;
      const closed = await admin.call(
        'POST',
        '/api/v1/credentials',
        vsphereCredential('vc-closed', { endpoint: `https://127.0.0.1:${await freePort()}/sdk` }),
      );
      assert.equal(closed.body.code, 'CX_CREDENTIAL_UNREACHABLE', JSON.stringify(closed.body));
      const untrusted = await admin.call(
        'POST',
        '/api/v1/credentials',
        vsphereCredential('vc-untrusted', { caCert: undefined }),
      );
      assert.equal(untrusted.body.code, 'CX_CREDENTIAL_UNTRUSTED', JSON.stringify(untrusted.body));
      const rejected = await admin.call(
        'POST',
        '/api/v1/credentials',
        vsphereCredential('vc-rejected', { password: 'not-the-password' }),
      );
      assert.equal(rejected.body.code, 'CX_CREDENTIAL_REJECTED', JSON.stringify(rejected.body));
      const wrongTemplate = await admin.call(
        'POST',
        '/api/v1/credentials',
        vsphereCredential('vc-template', {
          settings: { ...(vsphereCredential('x')['settings'] as object), template: '/DC0/vm/no-such-template' },
        }),
      );
      assert.equal(wrongTemplate.status, 400, JSON.stringify(wrongTemplate.body));
      assert.equal(wrongTemplate.body.fields[0].field, 'body.settings.template');
      const notCredentialed = await admin.call(
        'POST',
        '/api/v1/credentials',
        vsphereCredential('sim-cred', { provider: 'sim' }),
      );
      assert.equal(notCredentialed.body.fields?.[0]?.field, 'body.provider', JSON.stringify(notCredentialed.body));
      assert.equal((await admin.call('GET', '/api/v1/credentials')).body.items.length, before, 'nothing was stored');
    });

    it('creates the machines of a cluster as VMs tagged with it, scales a pool up and down, and deletes them with the cluster', async () => {
      const credential = await admin.call('POST', '/api/v1/credentials', vsphereCredential('vc-e2e'));
      assert.equal(credential.status, 201, JSON.stringify(credential.body));
      assert.equal(
        (await admin.call('POST', '/api/v1/resource-groups', { name: 'on-vsphere', credentialId: credential.body.id }))
          .status,
        201,
      );
      const version = (await admin.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'vsphere',
      ).kubernetesVersions[0];
      const body = {
        name: 'vs',
        provider: 'vsphere',
        kubernetesVersion: version,
        controlPlane: { count: 1 },
        nodePools: [{ name: 'workers', count: 2 }],
      };
      const homeless = await admin.call('POST', '/api/v1/clusters', body);
      assert.equal(
        homeless.body.fields?.[0]?.field,
        'body.resourceGroup',
        'a vSphere cluster needs a resource group with a vSphere credential',
      );
      await createThenDelete(
        { ...body, resourceGroup: 'on-vsphere' },
        async (clusterId) => {
          assert.deepEqual(
            await vmsOf(clusterId),
            ['vs-cp-0', 'vs-workers-0', 'vs-workers-1'],
            'one VM per machine, tagged with the cluster',
          );
          const info = JSON.parse(await govc('vm.info', '-json', '-e', 'vs-cp-0')) as {
            virtualMachines: Array<{
              config: { extraConfig: Array<{ key: string; value: string }> };
              runtime: { powerState: string };
            }>;
          };
          const vm = info.virtualMachines[0]!;
          assert.equal(vm.runtime.powerState, 'poweredOn');
          const userData = vm.config.extraConfig.find((e) => e.key === 'guestinfo.userdata')?.value;
          assert.ok(userData, 'cloud-init user data is handed to the VM through guestinfo');
          assert.match(Buffer.from(userData, 'base64').toString('utf8'), /kubeadm/);

          // Scale up (a new VM), then down naming two workers: they are destroyed on vCenter.
          await scaleUpAndDown(
            clusterId,
            'workers',
            { up: 3, added: ['vs-workers-2'] },
            { down: 1, remove: ['vs-workers-1', 'vs-workers-2'] },
            async () => {
              assert.deepEqual(await vmsOf(clusterId), ['vs-cp-0', 'vs-workers-0', 'vs-workers-1', 'vs-workers-2']);
            },
          );
          assert.deepEqual(
            await vmsOf(clusterId),
            ['vs-cp-0', 'vs-workers-0'],
            'the named VMs are destroyed on vCenter',
          );
        },
        async (clusterId) => {
          assert.deepEqual(await vmsOf(clusterId), [], 'no VM of the cluster is left on vCenter');
        },
      );
    });
  });

  describe('openstack on Keystone (real) and the Nova/Neutron test double', () => {
    it('checks a credential against Keystone before storing it; each failure has its own code and stores nothing', async () => {
      const before = (await admin.call('GET', '/api/v1/credentials')).body.items.length;
      const closed = await admin.call(
        'POST',
        '/api/v1/credentials',
        openstackCredential('os-closed', { endpoint: `http://127.0.0.1:${await freePort()}/v3` }),
      );
      assert.equal(closed.body.code, 'CX_CREDENTIAL_UNREACHABLE', JSON.stringify(closed.body));
      const rejected = await admin.call(
        'POST',
        '/api/v1/credentials',
        openstackCredential('os-rejected', { password: 'not-the-password' }),
      );
      assert.equal(rejected.body.code, 'CX_CREDENTIAL_REJECTED', JSON.stringify(rejected.body));
      const wrongImage = await admin.call(
        'POST',
        '/api/v1/credentials',
        openstackCredential('os-image', {
          settings: { ...(openstackCredential('x')['settings'] as object), image: 'no-such-image' },
        }),
      );
      assert.equal(wrongImage.body.fields?.[0]?.field, 'body.settings.image', JSON.stringify(wrongImage.body));
      // The machines' own network is not external: it has no floating IPs.
      const internal = await admin.call(
        'POST',
        '/api/v1/credentials',
        openstackCredential('os-fip', {
          settings: { ...(openstackCredential('x')['settings'] as object), floatingNetwork: openstackPeer().network },
        }),
      );
      assert.equal(internal.body.fields?.[0]?.field, 'body.settings.floatingNetwork', JSON.stringify(internal.body));
      assert.equal((await admin.call('GET', '/api/v1/credentials')).body.items.length, before, 'nothing was stored');
    });

    it('creates the machines of a cluster as servers tagged with it, scales a pool up and down, and deletes them and everything of the cluster with it', async () => {
      const credential = await admin.call('POST', '/api/v1/credentials', openstackCredential('os-e2e'));
      assert.equal(credential.status, 201, JSON.stringify(credential.body));
      assert.equal(
        (
          await admin.call('POST', '/api/v1/resource-groups', {
            name: 'on-openstack',
            credentialId: credential.body.id,
          })
        ).status,
        201,
      );
      const version = (await admin.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'openstack',
      ).kubernetesVersions[0];
      const serversOf = async (clusterId: string): Promise<string[]> =>
        (await openstackServers())
          .filter((s) => s.metadata['cx-cluster'] === clusterId)
          .map((s) => s.name)
          .sort();
      /** Ids of everything the cluster had on the peer, so that its deletion is checked by id as well as by tag and name. */
      const seen = {
        ports: new Set<string>(),
        securityGroups: new Set<string>(),
        serverGroups: new Set<string>(),
        floatingIps: new Set<string>(),
      };
      await createThenDelete(
        {
          name: 'os',
          provider: 'openstack',
          kubernetesVersion: version,
          controlPlane: { count: 1 },
          nodePools: [{ name: 'workers', count: 1 }],
          resourceGroup: 'on-openstack',
        },
        async (clusterId) => {
          assert.deepEqual(
            await serversOf(clusterId),
            ['os-cp-0', 'os-workers-0'],
            'one server per machine, tagged with the cluster',
          );
          const up = await openstackClusterObjects(clusterId);
          const cp = up.servers.find((s) => s.name === 'os-cp-0')!;
          const cpPort = up.ports.find((p) => p.device_id === cp.id);
          assert.ok(cpPort, 'the control-plane server has no port of the cluster');
          assert.equal(up.ports.length, 2, 'one port per machine');
          assert.deepEqual(
            up.securityGroups.map((g) => g.id),
            cpPort.security_groups,
            "the ports are in the cluster's security group",
          );
          assert.deepEqual(
            up.serverGroups.map((g) => g.members),
            [[cp.id]],
            "the control plane is in the cluster's server group",
          );
          assert.deepEqual(
            up.floatingIps.map((f) => f.port_id),
            [cpPort.id],
            'the control-plane machine has a floating IP (settings.floatingNetwork), the worker none',
          );
          const nodes = (await admin.call('GET', `/api/v1/clusters/${clusterId}/nodes`)).body.items as Array<{
            name: string;
            machine: { addresses: string[] };
          }>;
          assert.ok(
            nodes.find((n) => n.name === 'os-cp-0')?.machine.addresses.includes(up.floatingIps[0]!.floating_ip_address),
            `the floating IP is not among the machine's addresses: ${JSON.stringify(nodes)}`,
          );
          await scaleUpAndDown(
            clusterId,
            'workers',
            { up: 2, added: ['os-workers-1'] },
            { down: 1, remove: ['os-workers-1'] },
            async () => {
              assert.deepEqual(await serversOf(clusterId), ['os-cp-0', 'os-workers-0', 'os-workers-1']);
              for (const p of (await openstackClusterObjects(clusterId)).ports) seen.ports.add(p.id);
            },
          );
          assert.deepEqual(
            await serversOf(clusterId),
            ['os-cp-0', 'os-workers-0'],
            'the server scaled up and then removed is gone from Nova',
          );
          const scaledDown = await openstackClusterObjects(clusterId);
          assert.equal(scaledDown.ports.length, 2, "the removed machine's port is gone");
          assert.deepEqual(
            [scaledDown.securityGroups.length, scaledDown.serverGroups.length, scaledDown.floatingIps.length],
            [1, 1, 1],
            "the cluster's objects stay while it has machines",
          );
          for (const [kind, items] of Object.entries({
            ports: scaledDown.ports,
            securityGroups: scaledDown.securityGroups,
            serverGroups: scaledDown.serverGroups,
            floatingIps: scaledDown.floatingIps,
          })) {
            for (const item of items) seen[kind as keyof typeof seen].add(item.id);
          }
        },
        async (clusterId) => {
          assert.deepEqual(await serversOf(clusterId), [], 'no server of the cluster is left in Nova');
          const left = await openstackClusterObjects(clusterId);
          assert.deepEqual(
            {
              ports: left.ports,
              securityGroups: left.securityGroups,
              serverGroups: left.serverGroups,
              floatingIps: left.floatingIps,
            },
            { ports: [], securityGroups: [], serverGroups: [], floatingIps: [] },
            'objects tagged with or named after the cluster are left',
          );
          const [ports, groups, serverGroups, fips] = await Promise.all([
            openstackGet<{ ports: Array<{ id: string }> }>('network', 'v2.0/ports'),
            openstackGet<{ security_groups: Array<{ id: string }> }>('network', 'v2.0/security-groups'),
            openstackGet<{ server_groups: Array<{ id: string }> }>('compute', 'os-server-groups'),
            openstackGet<{ floatingips: Array<{ id: string }> }>('network', 'v2.0/floatingips'),
          ]);
          const still = [...ports.ports, ...groups.security_groups, ...serverGroups.server_groups, ...fips.floatingips]
            .map((o) => o.id)
            .filter((id) => Object.values(seen).some((ids) => ids.has(id)));
          assert.deepEqual(still, [], 'an object the cluster had is left on the peer');
          assert.equal(seen.ports.size, 3, 'the check above saw the ports of all three machines');
        },
      );
    });
  });

  describe('baremetal on sushy-tools (Redfish) and ipmi_sim (IPMI)', () => {
    /** Power state of a Redfish system as the BMC itself reports it. */
    const redfishPower = async (index: number): Promise<string> => {
      const bmc = redfishPeer();
      const dispatcher = new Agent({ connect: { ca: readFileSync(bmc.caFile, 'utf8') } });
      try {
        const answer = await request(`${bmc.url}/redfish/v1/Systems/${bmc.systems[index]!.id}`, {
          dispatcher,
          headers: { authorization: `Basic ${Buffer.from(`${bmc.username}:${bmc.password}`).toString('base64')}` },
        });
        return ((await answer.body.json()) as { PowerState: string }).PowerState;
      } finally {
        await dispatcher.close();
      }
    };
    const ipmiPower = async (index: number): Promise<string> => {
      const bmc = ipmiPeer().bmcs[index]!;
      const [host, port] = bmc.address.split(':') as [string, string];
      const { stdout } = await run(
        'ipmitool',
        ['-I', 'lanplus', '-C', '3', '-H', host, '-p', port, '-U', bmc.username, '-E', 'chassis', 'power', 'status'],
        { env: { ...process.env, IPMI_PASSWORD: bmc.password } },
      );
      return stdout.trim();
    };
    /** A Redfish resource as the BMC itself reports it. */
    const redfishGet = async <T>(path: string): Promise<T> => {
      const bmc = redfishPeer();
      const dispatcher = new Agent({ connect: { ca: readFileSync(bmc.caFile, 'utf8') } });
      try {
        const answer = await request(`${bmc.url}${path}`, {
          dispatcher,
          headers: { authorization: `Basic ${Buffer.from(`${bmc.username}:${bmc.password}`).toString('base64')}` },
        });
        return (await answer.body.json()) as T;
      } finally {
        await dispatcher.close();
      }
    };
    const until = async (read: () => Promise<string>, wanted: RegExp, what: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      let last = '';
      while (Date.now() < deadline) {
        last = await read();
        if (wanted.test(last)) return;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.fail(`${what}: still ${last}`);
    };

    it('checks a BMC before registering its host; each failure has its own code and stores nothing', async () => {
      const closed = await admin.call(
        'POST',
        '/api/v1/hosts',
        redfishHost('closed', 0, {
          bmc: { ...(redfishHost('x', 0)['bmc'] as object), address: `https://127.0.0.1:${await freePort()}` },
        }),
      );
      assert.equal(closed.body.code, 'CX_CREDENTIAL_UNREACHABLE', JSON.stringify(closed.body));
      const untrusted = await admin.call(
        'POST',
        '/api/v1/hosts',
        redfishHost('untrusted', 0, { bmc: { ...(redfishHost('x', 0)['bmc'] as object), caCert: undefined } }),
      );
      assert.equal(untrusted.body.code, 'CX_CREDENTIAL_UNTRUSTED', JSON.stringify(untrusted.body));
      const rejected = await admin.call(
        'POST',
        '/api/v1/hosts',
        redfishHost('rejected', 0, { bmc: { ...(redfishHost('x', 0)['bmc'] as object), password: 'wrong-password' } }),
      );
      assert.equal(rejected.body.code, 'CX_CREDENTIAL_REJECTED', JSON.stringify(rejected.body));
      const ipmiRejected = await admin.call('POST', '/api/v1/hosts', {
        ...ipmiHost('ipmi-rejected', 0),
        bmc: { ...(ipmiHost('x', 0)['bmc'] as object), password: 'wrong-password' },
      });
      assert.equal(ipmiRejected.body.code, 'CX_CREDENTIAL_REJECTED', JSON.stringify(ipmiRejected.body));
      assert.deepEqual(
        (await admin.call('GET', '/api/v1/hosts')).body.items.filter((h: { name: string }) =>
          ['closed', 'untrusted', 'rejected', 'ipmi-rejected'].includes(h.name),
        ),
        [],
      );
    });

    it('powers on the hosts a cluster claims with their seeds (rule O5), scales onto a spare host and back, and powers them off, withdraws the seeds and frees the hosts when it is deleted', async () => {
      let seedUrl = '';
      let secrets: string[] = [];
      for (const [name, body] of [
        ['bm-redfish', redfishHost('bm-redfish', 2, { labels: { 'cx/pool': 'control-plane' } })],
        ['bm-ipmi', ipmiHost('bm-ipmi', 1)],
        ['bm-spare', redfishHost('bm-spare', 3)],
      ] as const) {
        const registered = await admin.call('POST', '/api/v1/hosts', body);
        assert.equal(registered.status, 201, `${name}: ${JSON.stringify(registered.body)}`);
        assert.ok(!JSON.stringify(registered.body).includes('secret'), 'the BMC password is never returned');
      }
      const version = (await admin.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'baremetal',
      ).kubernetesVersions[0];
      await createThenDelete(
        {
          name: 'bm',
          provider: 'baremetal',
          kubernetesVersion: version,
          controlPlane: { count: 1 },
          nodePools: [{ name: 'workers', count: 1 }],
        },
        async (clusterId) => {
          const hosts = (await admin.call('GET', '/api/v1/hosts')).body.items as Array<{
            name: string;
            state: string;
            claim: { clusterId: string; machineName: string } | null;
          }>;
          const claimed = Object.fromEntries(
            hosts.filter((h) => h.claim?.clusterId === clusterId).map((h) => [h.name, h.claim!.machineName]),
          );
          assert.deepEqual(
            claimed,
            { 'bm-redfish': 'bm-cp-0', 'bm-ipmi': 'bm-workers-0' },
            'the control plane takes the host kept for it',
          );
          await until(() => redfishPower(2), /^On$/, 'the Redfish host was not powered on');
          await until(() => ipmiPower(1), /is on/, 'the IPMI host was not powered on');
          // Rule O5: the control plane's user data (kubeadm init, the cluster's keys) is in a config
          // drive in the host's virtual CD, served by sddc's seed listener (defaults: loopback).
          const media = await redfishGet<{ Inserted: boolean; Image: string }>(
            `/redfish/v1/Systems/${redfishPeer().systems[2]!.id}/VirtualMedia/Cd`,
          );
          assert.equal(media.Inserted, true);
          seedUrl = media.Image;
          assert.match(seedUrl, /^http:\/\/127\.0\.0\.1:\d+\/seeds\/[A-Za-z0-9_-]{43}\/cidata\.iso$/);
          const userData = await (await fetch(seedUrl.replace(/cidata\.iso$/, 'user-data'))).text();
          assert.match(userData, /^#cloud-config/);
          assert.match(userData, /InitConfiguration/);
          secrets = [
            seedUrl.split('/')[4]!,
            ...[...userData.matchAll(/PRIVATE KEY-----\s+([A-Za-z0-9+/]{40})/g)].map((m) => m[1]!),
          ];
          assert.ok(secrets.length > 1, 'the init user data carries the cluster keys');
          // Scale up onto the spare host (powered on), then down naming that machine (powered off, freed).
          const hostOf = async (name: string): Promise<{ state: string; claim: { machineName: string } | null }> =>
            (await admin.call('GET', `/api/v1/hosts/${name}`)).body;
          await scaleUpAndDown(
            clusterId,
            'workers',
            { up: 2, added: ['bm-workers-1'] },
            { down: 1, remove: ['bm-workers-1'] },
            async () => {
              assert.equal((await hostOf('bm-spare')).claim?.machineName, 'bm-workers-1');
              await until(() => redfishPower(3), /^On$/, 'the spare host was not powered on');
            },
          );
          assert.equal((await hostOf('bm-spare')).state, 'available', 'the spare host is free again');
          await until(() => redfishPower(3), /^Off$/, 'the spare host was not powered off');
        },
        async () => {
          await until(() => redfishPower(2), /^Off$/, 'the Redfish host was not powered off');
          await until(() => ipmiPower(1), /is off/, 'the IPMI host was not powered off');
          assert.equal((await fetch(seedUrl)).status, 404, 'the seed is not served once its machine is deleted');
          const media = await redfishGet<{ Inserted: boolean }>(
            `/redfish/v1/Systems/${redfishPeer().systems[2]!.id}/VirtualMedia/Cd`,
          );
          assert.equal(media.Inserted, false, 'the config drive was ejected');
          const log = readFileSync(cx.logPath, 'utf8');
          for (const secret of secrets) assert.ok(!log.includes(secret), 'a seed token or key is in the log');
          const hosts = (await admin.call('GET', '/api/v1/hosts')).body.items as Array<{ name: string; state: string }>;
          assert.deepEqual(
            hosts.filter((h) => h.name.startsWith('bm-')).map((h) => h.state),
            ['available', 'available', 'available'],
            'the hosts are free again',
          );
        },
      );
      assert.equal((await admin.call('DELETE', '/api/v1/hosts/bm-ipmi')).status, 204);
    });

    it("with hostCleanup wipe, boots a deleted cluster's host into its cleaning image and frees it only once it has powered itself off", async () => {
      for (const name of ['bm-redfish', 'bm-spare']) await admin.call('DELETE', `/api/v1/hosts/${name}`); // leave bm-wipe the only free host
      assert.equal((await admin.call('POST', '/api/v1/hosts', redfishHost('bm-wipe', 4))).status, 201);
      const version = (await admin.call('GET', '/api/v1/providers')).body.items.find(
        (p: { name: string }) => p.name === 'baremetal',
      ).kubernetesVersions[0];
      const kwokWipe = await admin.call('POST', '/api/v1/clusters', {
        name: 'no-hosts',
        provider: 'sim',
        kubernetesVersion: '1.31.4',
        controlPlane: { count: 1 },
        hostCleanup: 'wipe',
      });
      assert.equal(kwokWipe.status, 400);
      assert.equal(kwokWipe.body.fields[0].field, 'body.hostCleanup');
      const host = async (): Promise<{ state: string; cleaningSince: string | null }> =>
        (await admin.call('GET', '/api/v1/hosts/bm-wipe')).body;
      await createThenDelete(
        {
          name: 'bm-wipe',
          provider: 'baremetal',
          kubernetesVersion: version,
          controlPlane: { count: 1 },
          hostCleanup: 'wipe',
          nodePools: [],
        },
        async () => {
          await until(() => redfishPower(4), /^On$/, 'the host was not powered on');
        },
        async () => {
          // Deleted: the host runs its cleaning image (powered on again), and nobody may claim it.
          const cleaning = await host();
          assert.equal(cleaning.state, 'cleaning');
          assert.ok(cleaning.cleaningSince);
          await until(() => redfishPower(4), /^On$/, 'the host was not booted into its cleaning image');
          await new Promise((resolve) => setTimeout(resolve, 2_500));
          assert.equal((await host()).state, 'cleaning', 'a host still cleaning was returned to the pool');
          // The cleaning image ends by powering the host off (here: the test, through the BMC).
          const bmc = redfishPeer();
          const dispatcher = new Agent({ connect: { ca: readFileSync(bmc.caFile, 'utf8') } });
          try {
            const answer = await request(
              `${bmc.url}/redfish/v1/Systems/${bmc.systems[4]!.id}/Actions/ComputerSystem.Reset`,
              {
                method: 'POST',
                dispatcher,
                body: JSON.stringify({ ResetType: 'ForceOff' }),
                headers: {
                  'content-type': 'application/json',
                  authorization: `Basic ${Buffer.from(`${bmc.username}:${bmc.password}`).toString('base64')}`,
                },
              },
            );
            assert.ok(answer.statusCode < 300, `ForceOff answered ${answer.statusCode}`);
            await answer.body.dump();
          } finally {
            await dispatcher.close();
          }
          await until(
            async () => (await host()).state,
            /^available$/,
            'the cleaned host did not come back to the pool',
          );
        },
      );
      assert.equal((await admin.call('DELETE', '/api/v1/hosts/bm-wipe')).status, 204);
    });
  });
});
