/** The bare-metal host inventory against real SQL: SQLite and MariaDB. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Knex } from 'knex';
import type { HostCreateRequest } from '@cx/api-schemas';
import { migrateLatest } from '@cx/migrations';
import type { MachineSpec } from '@cx/sddc-contract';
import { Hosts } from './hosts.js';
import { SecretBox } from '../secrets/secret-box.js';
import { testDatabases } from '../db/test-databases.js';

const BMC_PASSWORD = 'bmc-pa55-word';
const host = (name: string, extra: Partial<HostCreateRequest> = {}): HostCreateRequest => ({
  name,
  bmc: {
    protocol: 'redfish',
    address: 'https://127.0.0.1:1',
    username: 'admin',
    password: BMC_PASSWORD,
    insecure: false,
  },
  addresses: ['192.0.2.10'],
  labels: {},
  capacity: { vcpus: 8, memoryMiB: 16384, diskGiB: 200 },
  ...extra,
});
const spec = (cluster: string, machine: string, overrides: Partial<MachineSpec> = {}): MachineSpec => ({
  machineId: machine,
  clusterId: cluster,
  name: machine,
  role: 'worker',
  pool: 'workers',
  kubernetesVersion: '1.37.2',
  ...overrides,
});

for (const target of testDatabases) {
  describe(`host inventory on ${target.name}`, () => {
    let db: Knex;
    let drop: () => Promise<void>;
    let hosts: Hosts;

    before(async () => {
      ({ db, drop } = await target.open());
      await migrateLatest(db);
      hosts = new Hosts(db, new SecretBox('h'.repeat(32)));
    });
    after(async () => {
      await db.destroy();
      await drop();
    });

    it('seals the BMC password and never shows it in the public shape', async () => {
      const created = await hosts.create(host('h-sealed'), 'root');
      assert.equal(created.state, 'available');
      assert.equal(JSON.stringify(created).includes(BMC_PASSWORD), false);
      const row = (await db('hosts').where({ id: created.id }).first()) as Record<string, unknown>;
      assert.equal(JSON.stringify(row).includes(BMC_PASSWORD), false, 'the row holds no plaintext');
      await assert.rejects(hosts.create(host('h-sealed'), 'root'), { code: 'CX_NAME_TAKEN' });
      await hosts.delete('h-sealed');
    });

    it('gives each machine one host, the same one again, and never one host to two machines under a race', async () => {
      await Promise.all(['h-a', 'h-b', 'h-c'].map((name) => hosts.create(host(name), 'root')));
      const machines = Array.from({ length: 5 }, (_, i) => spec('race', `m${i}`));
      // Five machines race for three hosts, each claiming twice at once.
      const results = await Promise.allSettled(machines.flatMap((m) => [hosts.claim(m), hosts.claim(m)]));
      const won = results.filter(
        (r): r is PromiseFulfilledResult<Awaited<ReturnType<Hosts['claim']>>> => r.status === 'fulfilled',
      );
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      const claims = await hosts.claims('race');
      assert.equal(claims.length, 3, 'three hosts are claimed');
      assert.equal(new Set(claims.map((c) => c.machineId)).size, 3, 'by three different machines');
      for (const result of won)
        assert.equal(claims.find((c) => c.host.id === result.value.id)?.host.bmc.password, BMC_PASSWORD);
      for (const result of lost)
        assert.equal((result.reason as { details?: { reason?: string } }).details?.reason, 'NoFreeHost');
      const holder = claims[0]!;
      assert.equal(
        (await hosts.claim(spec('race', holder.machineId))).id,
        holder.host.id,
        'a repeated claim answers the same host',
      );
      await assert.rejects(hosts.delete(holder.host.id), { code: 'CX_CONFLICT' }, 'a claimed host cannot be removed');
      for (const claim of claims) await hosts.release('race', claim.machineId);
      await hosts.release('race', 'never-claimed');
      assert.deepEqual(await hosts.claims('race'), []);
      assert.equal((await hosts.list(50, undefined)).items.filter((h) => h.state === 'claimed').length, 0);
    });

    it('matches capacity and keeps pool-labelled hosts for their pool', async () => {
      await hosts.create(host('h-small', { capacity: { vcpus: 2, memoryMiB: 2048, diskGiB: 50 } }), 'root');
      await hosts.create(host('h-cp', { labels: { 'cx/pool': 'control-plane' } }), 'root');
      const big = await hosts.claim(spec('fit', 'big', { resources: { vcpus: 4, memoryMiB: 8192 } }));
      assert.notEqual(big.name, 'h-small', 'a host smaller than asked is not given');
      assert.notEqual(big.name, 'h-cp', 'a host kept for the control plane does not go to a worker');
      const cp = await hosts.claim(spec('fit', 'cp', { role: 'control-plane', pool: 'control-plane' }));
      assert.equal(cp.name, 'h-cp', 'the control plane prefers the host labelled for it');
    });

    it('holds back a host released for wiping until it is cleaned, with the cleanup its cluster chose', async () => {
      const now = '2026-11-23T00:00:00.000Z';
      await db('clusters').insert({
        id: 'wiper',
        name: 'wiper',
        provider: 'baremetal',
        kubernetes_version: '1.37.2',
        status: 'Ready',
        spec: JSON.stringify({ hostCleanup: 'wipe' }),
        created_by: 'root',
        created_at: now,
        updated_at: now,
        version: 1,
      });
      for (const h of (await hosts.list(50, undefined)).items) if (h.state === 'available') await hosts.delete(h.id);
      await hosts.create(host('h-wipe'), 'root');
      const claimed = await hosts.claim(spec('wiper', 'w0'));
      assert.equal(claimed.cleanup, 'wipe');
      await hosts.release('wiper', 'w0', true);
      const cleaning = await hosts.get('h-wipe');
      assert.equal(cleaning.state, 'cleaning');
      assert.ok(cleaning.cleaningSince);
      assert.deepEqual(
        (await hosts.cleaning()).map((h) => [h.name, h.bmc.password]),
        [['h-wipe', BMC_PASSWORD]],
      );
      await assert.rejects(
        hosts.claim(spec('other', 'o0')),
        (error: { details?: { reason?: string } }) => error.details?.reason === 'NoFreeHost',
      );
      await hosts.cleaned(claimed.id);
      assert.equal((await hosts.get('h-wipe')).state, 'available');
      // A cluster that chose nothing powers off only.
      const plain = await hosts.claim(spec('other', 'o0'));
      assert.equal(plain.cleanup, 'power-off');
      await hosts.release('other', 'o0');
    });
  });
}
