/**
 * A step's effects, committed in the transaction that records its result: each kind is a write of
 * the module that owns the rows (clusters, ha-configs, addons, …); this is only where they meet.
 */
import type { Knex } from 'knex';
import type { StepEffect } from '@cx/sm-contract';
import type { PreparedSql } from '../db/prepared.js';
import { deleteGrantsOn } from '../access/access-control.js';
import { deleteAddon, deleteAddonsOf, markAddonInstalled } from '../addons/addons.js';
import {
  deleteClusterRow,
  deleteMachines,
  removePool,
  setClusterEndpoint,
  setClusterImage,
  setClusterStatus,
  setClusterVersion,
  updateMachines,
  upsertMachines,
} from '../clusters/effects.js';
import type { TenantCredentials } from '../clusters/tenant-credentials.js';
import { deleteSnapshotsOf } from '../etcd-snapshots/etcd-snapshots.js';
import { deleteHaConfig, deleteHaConfigsOf, setHaConfigApplied } from '../ha-configs/ha-configs.js';
import { releaseAddressesOf } from '../ip-pools/ip-pools.js';

type Effect<K extends StepEffect['kind']> = Extract<StepEffect, { kind: K }>;
type PreparedWrite<K extends StepEffect['kind']> = (
  sql: PreparedSql,
  clusterId: string,
  effect: Effect<K>,
  now: string,
) => Promise<void>;

/** The effects written with prepared statements alone: a step with only these needs no knex transaction. */
const PREPARED: { [K in StepEffect['kind']]?: PreparedWrite<K> } = {
  upsertMachines: (sql, clusterId, effect, now) => upsertMachines(sql, clusterId, effect.machines, now),
  updateMachines: (sql, clusterId, effect, now) => updateMachines(sql, clusterId, effect.machines, now),
  deleteMachines: (sql, clusterId, effect) => deleteMachines(sql, clusterId, effect.ids),
  setClusterStatus: (sql, clusterId, effect, now) =>
    setClusterStatus(sql, clusterId, effect.status, effect.message ?? null, now),
  setClusterEndpoint: (sql, clusterId, effect, now) => setClusterEndpoint(sql, clusterId, effect.apiEndpoint, now),
  deleteCluster: async (sql, clusterId) => {
    // What other modules keep of the cluster first, then its own row.
    await deleteAddonsOf(sql, clusterId);
    await deleteSnapshotsOf(sql, clusterId);
    await deleteGrantsOn(sql, 'cluster', clusterId);
    await deleteHaConfigsOf(sql, clusterId);
    await releaseAddressesOf(sql, clusterId);
    await deleteClusterRow(sql, clusterId);
  },
};

/** Whether committing `effects` needs a knex transaction (some are written through knex). */
export function needsKnex(effects: StepEffect[]): boolean {
  return effects.some((effect) => PREPARED[effect.kind] === undefined);
}

/** `trx`: the knex transaction `sql` runs in; there is none when needsKnex said no. */
export async function applyEffect(
  sql: PreparedSql,
  trx: Knex.Transaction | undefined,
  tenants: TenantCredentials,
  clusterId: string,
  effect: StepEffect,
  now: string,
): Promise<void> {
  const prepared = PREPARED[effect.kind] as PreparedWrite<typeof effect.kind> | undefined;
  if (prepared) return prepared(sql, clusterId, effect, now);
  if (!trx) throw new Error(`effect ${effect.kind} is written through knex: commit it in a knex transaction`);
  switch (effect.kind) {
    case 'removePool':
      return removePool(trx, clusterId, effect.pool, now);
    case 'setClusterVersion':
      return setClusterVersion(trx, clusterId, effect.kubernetesVersion, now);
    case 'setClusterImage':
      return setClusterImage(trx, clusterId, effect.osImage, now);
    case 'beginCaRotation': {
      const row = (await trx('clusters').where({ id: clusterId }).first('name')) as { name: string };
      return tenants.beginCaRotation(trx, clusterId, row.name);
    }
    case 'finishCaRotation':
      return tenants.finishCaRotation(trx, clusterId);
    case 'rotateCertificates':
      return tenants.rotateLeafCertificates(trx, clusterId);
    case 'deleteHaConfig':
      return deleteHaConfig(trx, clusterId, effect.id);
    case 'setHaConfigApplied':
      return setHaConfigApplied(trx, clusterId, effect.id, effect, now);
    case 'setAddonInstalled':
      return markAddonInstalled(trx, clusterId, effect.name, now);
    case 'deleteAddon':
      return deleteAddon(trx, clusterId, effect.name);
  }
}
