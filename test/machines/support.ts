/**
 * What the tests on booted machines share: the peer test/peers/machines.sh describes, cx started
 * as those tests run it, the hosts registered through the API, Redfish power read and set on the
 * BMC directly, and a workflow followed phase by phase with each host's boot milestones (the
 * split of docs/benchmarks.md) and, when it fails, where it stopped.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { Api, startCx, tail, type CxProcess } from '../support/cx.js';

const run = promisify(execFile);

export interface MachinesPeer {
  url: string;
  username: string;
  password: string;
  caFile: string;
  systems: Array<{ id: string; name: string; mac: string; ip: string; console: string }>;
  network: { cidr: string; hostAddress: string; freeAddresses: string };
  memoryMiB: number;
  image: { kubernetesVersion: string; keepalivedImage: string; haproxyImage: string; workloadImage: string };
}

export function machinesPeer(): MachinesPeer {
  const raw = process.env['CX_TEST_MACHINES'];
  assert.ok(raw, 'CX_TEST_MACHINES is not set: run `npm run test:machines`, which starts test/peers/machines.sh');
  return JSON.parse(raw) as MachinesPeer;
}

function kubectlPath(): string {
  const raw = process.env['CX_TEST_KUBERNETES'];
  assert.ok(raw, 'CX_TEST_KUBERNETES is not set: run `npm run test:machines`, which builds the Kubernetes peers');
  const kubectl = (JSON.parse(raw) as { kubectl?: string }).kubectl;
  assert.ok(kubectl && existsSync(kubectl), `no kubectl in the Kubernetes peers' manifest (${raw})`);
  return kubectl;
}

/** A node as kubectl lists it, as far as the tests check it. */
export interface NodeSummary {
  name: string;
  ready: string;
  kubelet: string;
}

export const seconds = (ms: number): number => Math.round(ms / 1000);
export const say = (message: string): void => console.log(`# machines: ${message}`);

/** One test file's cx on the machines peer, its admin, and the figures it prints at the end. */
export class MachinesRun {
  readonly peer = machinesPeer();
  readonly kubectl = kubectlPath();
  /** The first free address of the peer's network: the control-plane VIP. */
  readonly vip = this.peer.network.freeAddresses.split('-')[0]!;
  /** What each phase took, printed at the end (docs/benchmarks.md). */
  readonly timings: Record<string, number> = {};
  cx!: CxProcess;
  admin!: Api;
  private readonly dispatcher = new Agent({ connect: { ca: readFileSync(this.peer.caFile, 'utf8') } });

  /**
   * Starts cx as the peer needs it, registers every host (the first `controlPlaneHosts` kept for
   * the control plane, so that the test knows where each node runs) and the VIP's IP pool.
   */
  async start(controlPlaneHosts: number, env: Record<string, string> = {}): Promise<void> {
    const { peer } = this;
    // Each host's console is written afresh by its next boot; earlier runs' text would be read as this run's.
    for (const system of peer.systems) if (existsSync(system.console)) writeFileSync(system.console, '');
    this.cx = await startCx({
      env: {
        // The hosts' disks hold the node image already: they boot from disk with their seed in the virtual CD.
        CX_BAREMETAL_BOOT_DEVICE: 'disk',
        // The images an air-gapped site mirrors for the control-plane VIP, preloaded in the node image.
        CX_HA_KEEPALIVED_IMAGE: peer.image.keepalivedImage,
        CX_HA_HAPROXY_IMAGE: peer.image.haproxyImage,
        CX_LOG_LEVEL: 'info',
        ...env,
      },
    });
    this.admin = await Api.login(this.cx.base);
    for (const [i, system] of peer.systems.entries()) {
      const registered = await this.admin.call('POST', '/api/v1/hosts', {
        name: system.name,
        bmc: {
          protocol: 'redfish',
          address: peer.url,
          username: peer.username,
          password: peer.password,
          caCert: readFileSync(peer.caFile, 'utf8'),
          systemId: system.id,
        },
        bootMac: system.mac,
        addresses: [system.ip],
        labels: i < controlPlaneHosts ? { 'cx/pool': 'control-plane' } : {},
        capacity: { vcpus: 2, memoryMiB: peer.memoryMiB, diskGiB: 8 },
      });
      assert.equal(registered.status, 201, `${system.name}: ${JSON.stringify(registered.body)}`);
    }
    const pool = await this.admin.call('POST', '/api/v1/ip-pools', { name: 'machines-vips', ranges: this.vip });
    assert.equal(pool.status, 201, JSON.stringify(pool.body));
  }

  async stop(): Promise<void> {
    say(`timings (seconds): ${JSON.stringify(this.timings)}`);
    await this.cx?.stop();
    await this.dispatcher.close();
  }

  /** Real kubectl with a user's kubeconfig. */
  async k(kubeconfig: string, ...args: string[]): Promise<string> {
    return (
      await run(this.kubectl, ['--kubeconfig', kubeconfig, '--request-timeout=60s', ...args], { encoding: 'utf8' })
    ).stdout;
  }

  /**
   * Waits, bounded, until kubectl lists exactly `expected` (by name, Ready status and kubelet
   * version), then asserts it: cx may have seen a node Ready while an emulated kubelet on a loaded
   * host misses a status update and reads Unknown for a while.
   */
  async waitForNodes(kubeconfig: string, expected: NodeSummary[], timeoutMs: number): Promise<void> {
    const summary = async (): Promise<NodeSummary[]> =>
      (JSON.parse(await this.k(kubeconfig, 'get', 'nodes', '-o', 'json')).items as any[])
        .map((n) => ({
          name: n.metadata.name as string,
          ready: n.status.conditions.find((c: { type: string }) => c.type === 'Ready')?.status as string,
          kubelet: n.status.nodeInfo.kubeletVersion as string,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    const deadline = Date.now() + timeoutMs;
    let seen = await summary().catch(() => []);
    while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline) {
      say(`kubectl: ${JSON.stringify(seen)}`);
      await sleep(10_000);
      seen = await summary().catch(() => []);
    }
    assert.deepEqual(seen, expected);
  }

  private async redfish(path: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}): Promise<unknown> {
    const { peer } = this;
    const answer = await request(`${peer.url}${path}`, {
      method: init.method ?? 'GET',
      dispatcher: this.dispatcher,
      headers: {
        authorization: `Basic ${Buffer.from(`${peer.username}:${peer.password}`).toString('base64')}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await answer.body.text();
    assert.ok(answer.statusCode < 300, `Redfish ${init.method ?? 'GET'} ${path}: ${answer.statusCode} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** A host's power state as its BMC reads it (`On`, `Off`). */
  async power(systemId: string): Promise<string> {
    return ((await this.redfish(`/redfish/v1/Systems/${systemId}`)) as { PowerState: string }).PowerState;
  }

  /** Cuts a host's power at its BMC, behind cx's back: a machine dying. */
  async forceOff(systemId: string): Promise<void> {
    await this.redfish(`/redfish/v1/Systems/${systemId}/Actions/ComputerSystem.Reset`, {
      method: 'POST',
      body: { ResetType: 'ForceOff' },
    });
  }

  /** Where a run stopped: its steps, cx's log and each host's console (cloud-init and kubeadm write there). */
  async diagnose(workflowId: string): Promise<string> {
    const runBody = (await this.admin.call('GET', `/api/v1/workflows/${workflowId}`)).body;
    const steps = (runBody.steps ?? []) as Array<{ name: string; status: string; message?: string; error?: unknown }>;
    return [
      `workflow ${workflowId} ${runBody.status}; steps:`,
      ...steps.map(
        (s) =>
          `  ${s.name}: ${s.status}${s.message ? ` (${s.message})` : ''}${s.error ? ` ${JSON.stringify(s.error)}` : ''}`,
      ),
      `cx's log (${this.cx.logPath}), last lines:`,
      tail(this.cx.logPath, 15),
      ...this.peer.systems.map((s) => `console of ${s.name} (${s.console}), last lines:\n${tail(s.console, 25)}`),
    ].join('\n');
  }

  /**
   * Waits for a workflow, printing its step and message as they change and when each host's
   * console first shows a boot or bootstrap milestone in this phase.
   */
  async follow(workflowId: string, started: number, timeoutMs: number, label: string): Promise<any> {
    // What each host's console shows first at each milestone (cloud-init and kubeadm print there).
    const marks: Array<[string, RegExp]> = [
      ['login prompt', /login:/],
      ['cloud-init final stage', /modules:final/],
      ['kubeadm done', /initialized successfully|This node has joined the cluster/],
    ];
    const seen = new Set<string>();
    // What each console held before this phase (an earlier phase's boot) is not this phase's milestone.
    const before = new Map(
      this.peer.systems.map((s) => [s.id, existsSync(s.console) ? readFileSync(s.console, 'utf8').length : 0]),
    );
    let last = '';
    const deadline = started + timeoutMs;
    const mark = (key: string): void => {
      if (seen.has(key)) return;
      seen.add(key);
      this.timings[`${label}: ${key}`] = seconds(Date.now() - started);
      say(`${label} +${seconds(Date.now() - started)} s: ${key}`);
    };
    for (;;) {
      const answer = await this.admin.call('GET', `/api/v1/workflows/${workflowId}`).catch(() => undefined);
      const body = answer?.body;
      if (body?.status === 'Succeeded' || body?.status === 'Failed') return body;
      const step = body?.steps?.find((s: { status: string }) => s.status === 'Running');
      const now = `${step?.name ?? body?.status} ${step?.message ?? ''}`.trim();
      if (now !== last) say(`${label} +${seconds(Date.now() - started)} s: ${now}`);
      last = now;
      for (const system of this.peer.systems) {
        if ((await this.power(system.id).catch(() => '')) !== 'On') continue;
        mark(`${system.name} powered on`);
        const whole = existsSync(system.console) ? readFileSync(system.console, 'utf8') : '';
        // A host booted again starts its console afresh (shorter than before): all of it is new.
        const consoleText = whole.length >= before.get(system.id)! ? whole.slice(before.get(system.id)) : whole;
        for (const [name, pattern] of marks) if (pattern.test(consoleText)) mark(`${system.name} ${name}`);
      }
      if (Date.now() > deadline)
        assert.fail(`${label} did not finish within ${seconds(timeoutMs)} s\n${await this.diagnose(workflowId)}`);
      await sleep(5_000);
    }
  }
}
