/**
 * The conformance suite of the provider contract (CONTRACT.md). Each test is named after the rule
 * it checks; run it from a provider's own test file against a real instance of the provider.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import { providerCapabilitiesSchema } from '@cx/api-schemas';
import {
  type EnsureContext,
  type MachineSpec,
  type MachineStatus,
  type Provider,
  type ProviderCapabilities,
} from './index.js';

export interface ConformanceTarget {
  name: string;
  /** A provider connected to real infrastructure. */
  create(): Promise<Provider>;
  /** The same provider pointed at infrastructure that cannot be reached (M7). */
  unreachable?(): Promise<Provider>;
  /** Longest time a machine may take to reach a phase or power state. */
  settleTimeoutMs?: number;
  /** What sddc would give ensureMachine for a cluster (providers that bootstrap a control plane need it). */
  context?(clusterId: string): EnsureContext;
}

export function runProviderConformance(target: ConformanceTarget): void {
  const settleMs = target.settleTimeoutMs ?? 30_000;
  describe(`provider contract: ${target.name}`, () => {
    const clusterId = `conformance-${randomUUID().slice(0, 8)}`;
    let provider: Provider | undefined;
    const get = async (): Promise<Provider> => (provider ??= await target.create());
    const spec = (n: number, cluster = clusterId): MachineSpec => ({
      machineId: `${cluster}-m${n}`,
      clusterId: cluster,
      name: `${cluster}-m${n}`,
      role: n === 0 ? 'control-plane' : 'worker',
      pool: n === 0 ? 'control-plane' : 'workers',
      kubernetesVersion: '',
    });
    const ensure = (p: Provider, s: MachineSpec): Promise<MachineStatus> =>
      p.ensureMachine(s, target.context?.(s.clusterId));
    const versioned = async (n: number, cluster?: string): Promise<MachineSpec> => ({
      ...spec(n, cluster),
      kubernetesVersion: (await get()).kubernetesVersions[0]!,
    });

    after(async () => {
      if (!provider) return;
      for (const machine of await provider.listMachines(clusterId))
        await provider.deleteMachine(clusterId, machine.machineId);
      await provider.close?.();
    });

    it('M1 declares name, contract version and Kubernetes versions', async () => {
      const p = await get();
      assert.equal(p.name, target.name);
      assert.match(p.contractVersion, /^\d+\.\d+\.\d+$/);
      assert.ok(p.kubernetesVersions.length > 0, 'kubernetesVersions is empty');
      for (const version of p.kubernetesVersions) assert.match(version, /^\d+\.\d+\.\d+$/);
    });

    it('M2 ensureMachine is idempotent by machine id', async () => {
      const p = await get();
      const s = await versioned(1);
      const first = await ensure(p, s);
      const second = await ensure(p, s);
      assert.equal(second.providerId, first.providerId);
      assert.equal((await p.listMachines(clusterId)).filter((m) => m.machineId === s.machineId).length, 1);
    });

    it('M2 concurrent ensureMachine calls create one machine', async () => {
      const p = await get();
      const s = await versioned(2);
      const results = await Promise.all(Array.from({ length: 5 }, () => ensure(p, s)));
      assert.equal(new Set(results.map((r) => r.providerId)).size, 1);
      assert.equal((await p.listMachines(clusterId)).filter((m) => m.machineId === s.machineId).length, 1);
    });

    it('M3 ensureMachine reports provider id, phase and addresses', async () => {
      const p = await get();
      const s = await versioned(3);
      const status = await ensure(p, s);
      assert.ok(status.providerId, 'providerId is empty');
      assert.ok(['Provisioning', 'Running', 'Stopped', 'Failed'].includes(status.phase));
      const running = await waitFor(
        () => p.getMachine(clusterId, s.machineId),
        (m) => m?.phase === 'Running',
        settleMs,
      );
      assert.ok(running && running.addresses.length > 0, 'a Running machine has no address');
      assert.equal(running.name, s.name);
    });

    it('M4 listMachines returns exactly the machines of a cluster', async () => {
      const p = await get();
      const other = `${clusterId}-other`;
      const [mine, theirs] = await Promise.all([ensure(p, await versioned(4)), ensure(p, await versioned(4, other))]);
      try {
        const listed = await p.listMachines(clusterId);
        assert.ok(listed.some((m) => m.machineId === mine.machineId));
        assert.ok(
          listed.every((m) => m.tags.cluster === clusterId && m.clusterId === clusterId),
          'a machine of another cluster was listed',
        );
        for (const m of listed) assert.equal(m.tags.machine, m.machineId);
        assert.ok(!listed.some((m) => m.machineId === theirs.machineId));
      } finally {
        await p.deleteMachine(other, theirs.machineId);
      }
    });

    it('M5 deleteMachine removes the machine', async () => {
      const p = await get();
      const s = await versioned(5);
      await ensure(p, s);
      await p.deleteMachine(clusterId, s.machineId);
      const gone = await waitFor(
        () => p.getMachine(clusterId, s.machineId),
        (m) => m === null,
        settleMs,
      );
      assert.equal(gone, null);
      assert.ok(!(await p.listMachines(clusterId)).some((m) => m.machineId === s.machineId));
    });

    it('M5 deleting an unknown machine succeeds', async () => {
      const p = await get();
      await p.deleteMachine(clusterId, `${clusterId}-never-created`);
      await p.deleteMachine(clusterId, `${clusterId}-never-created`);
    });

    it('M6 power off is verified by getPowerState', async () => {
      const p = await get();
      const s = await versioned(6);
      await ensure(p, s);
      await waitFor(
        () => p.getMachine(clusterId, s.machineId),
        (m) => m?.phase === 'Running',
        settleMs,
      );
      await p.setPower(clusterId, s.machineId, 'off');
      assert.equal(
        await waitFor(
          () => p.getPowerState(clusterId, s.machineId),
          (state) => state === 'off',
          settleMs,
        ),
        'off',
      );
    });

    it('M6 power on and reset leave the machine on', async () => {
      const p = await get();
      const s = await versioned(6);
      await p.setPower(clusterId, s.machineId, 'on');
      assert.equal(
        await waitFor(
          () => p.getPowerState(clusterId, s.machineId),
          (state) => state === 'on',
          settleMs,
        ),
        'on',
      );
      await p.setPower(clusterId, s.machineId, 'reset');
      assert.equal(
        await waitFor(
          () => p.getPowerState(clusterId, s.machineId),
          (state) => state === 'on',
          settleMs,
        ),
        'on',
      );
    });

    it('M9 declares every capability as a boolean, consistent with the methods it implements', async () => {
      const p = await get();
      const names = Object.keys(providerCapabilitiesSchema.properties) as Array<keyof ProviderCapabilities>;
      for (const name of names)
        assert.equal(typeof p.capabilities[name], 'boolean', `capabilities.${name} is not declared`);
      assert.equal(
        typeof p.checkImage === 'function',
        p.capabilities.osImages,
        'capabilities.osImages and checkImage go together (O10)',
      );
      assert.equal(
        typeof p.etcdSnapshot === 'function' && typeof p.etcdRestore === 'function',
        p.capabilities.etcdSnapshot,
        'capabilities.etcdSnapshot and etcdSnapshot/etcdRestore go together (O6)',
      );
      for (const name of ['certificateRotation', 'controlPlaneVip', 'etcdSnapshot'] as const) {
        if (p.capabilities[name])
          assert.ok(p.capabilities.kubernetesApi, `capabilities.${name} needs a Kubernetes API (kubernetesApi)`);
      }
      if (p.capabilities.bareMetalHosts)
        assert.ok(p.capabilities.power, 'bare-metal hosts are fenced through their BMC: capabilities.power');
    });

    it('O8 a provider without a Kubernetes API reports no apiEndpoint', async (t) => {
      const p = await get();
      if (p.capabilities.kubernetesApi) {
        t.skip('the provider declares capabilities.kubernetesApi (its endpoint is rule O3, checked by its own tests)');
        return;
      }
      const status = await ensure(p, await versioned(0));
      assert.equal(
        status.apiEndpoint,
        undefined,
        'a control-plane machine reports an apiEndpoint, but capabilities.kubernetesApi is false',
      );
    });

    describe('O6 etcd snapshot and restore', () => {
      /** A provider that declares the capability, with a control plane running for the suite's cluster; undefined (the test skips) otherwise. */
      const capable = async (
        t: TestContext,
      ): Promise<Required<Pick<Provider, 'etcdSnapshot' | 'etcdRestore'>> | undefined> => {
        const p = await get();
        if (!p.capabilities.etcdSnapshot) {
          t.skip('the provider does not declare capabilities.etcdSnapshot');
          return undefined;
        }
        assert.equal(
          typeof p.etcdSnapshot,
          'function',
          'capabilities.etcdSnapshot is declared, etcdSnapshot is not implemented',
        );
        assert.equal(
          typeof p.etcdRestore,
          'function',
          'capabilities.etcdSnapshot is declared, etcdRestore is not implemented',
        );
        await ensure(p, await versioned(0));
        await waitFor(
          () => p.getMachine(clusterId, spec(0).machineId),
          (m) => m?.phase === 'Running',
          settleMs,
        );
        return { etcdSnapshot: p.etcdSnapshot!.bind(p), etcdRestore: p.etcdRestore!.bind(p) };
      };

      it('O6 etcdSnapshot returns a snapshot with its revision, and a later one a higher revision', async (t) => {
        const p = await capable(t);
        if (!p) return;
        const first = await p.etcdSnapshot(clusterId);
        assert.ok(first.data.length > 0, 'the snapshot is empty');
        assert.ok(Number.isSafeInteger(first.revision) && first.revision > 0, `revision ${first.revision}`);
        assert.match(first.etcdVersion, /^\d+\.\d+\.\d+/);
        await ensure(await get(), await versioned(8)); // changes the cluster (a machine joins)
        const second = await p.etcdSnapshot(clusterId);
        assert.ok(second.revision > first.revision, `revision ${second.revision} after ${first.revision}`);
      });

      it('O6 etcdSnapshot refuses to pass maxBytes with CX_LIMIT_EXCEEDED', async (t) => {
        const p = await capable(t);
        if (!p) return;
        await assert.rejects(p.etcdSnapshot(clusterId, { maxBytes: 1024 }), (error: unknown) => {
          assert.equal((error as { code?: string }).code, 'CX_LIMIT_EXCEEDED');
          return true;
        });
      });

      it('O6 etcdSnapshot of a cluster the provider runs nothing for fails with CX_NOT_FOUND', async (t) => {
        const p = await capable(t);
        if (!p) return;
        await assert.rejects(p.etcdSnapshot(`${clusterId}-none`), (error: unknown) => {
          assert.equal((error as { code?: string }).code, 'CX_NOT_FOUND');
          return true;
        });
      });

      it('O6 etcdRestore rewinds to the snapshot, never to a lower revision, and the cluster runs again', async (t) => {
        const p = await capable(t);
        if (!p) return;
        const snapshot = await p.etcdSnapshot(clusterId);
        const later = await p.etcdSnapshot(clusterId);
        await p.etcdRestore(clusterId, snapshot.data);
        // Watchers of the API must relist rather than miss what the restore undid: revisions only grow.
        const restored = await p.etcdSnapshot(clusterId);
        assert.ok(
          restored.revision > later.revision,
          `revision ${restored.revision} after a restore from ${later.revision}`,
        );
        assert.ok(
          (await (await get()).listMachines(clusterId)).some((m) => m.machineId === spec(0).machineId),
          'the control-plane machine is gone after the restore',
        );
      });

      it('O6 etcdRestore of data that is not a snapshot fails and changes nothing', async (t) => {
        const p = await capable(t);
        if (!p) return;
        const before = (await (await get()).listMachines(clusterId)).map((m) => m.machineId).sort();
        await assert.rejects(p.etcdRestore(clusterId, Buffer.from('not an etcd snapshot')), (error: unknown) => {
          assert.ok(
            ['CX_PROVIDER_ERROR', 'CX_INPUT_INVALID'].includes((error as { code?: string }).code ?? ''),
            String(error),
          );
          return true;
        });
        assert.deepEqual((await (await get()).listMachines(clusterId)).map((m) => m.machineId).sort(), before);
        assert.ok((await p.etcdSnapshot(clusterId)).data.length > 0);
      });
    });

    it(
      'M7 an unreachable provider fails with a retryable CX_PROVIDER_UNAVAILABLE',
      { skip: target.unreachable ? false : 'the target gives no unreachable variant' },
      async () => {
        const broken = await target.unreachable!();
        try {
          await assert.rejects(ensure(broken, await versioned(7)), (error: unknown) => {
            const e = error as { code?: string; retryable?: boolean };
            assert.equal(e.code, 'CX_PROVIDER_UNAVAILABLE');
            assert.equal(e.retryable, true);
            return true;
          });
        } finally {
          await broken.close?.();
        }
      },
    );
  });
}

/** Polls `read` until `done` holds or the deadline passes; returns the last value read. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export type { MachineStatus };
