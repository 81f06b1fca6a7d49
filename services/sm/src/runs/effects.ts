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

/** Effects written with prepared statements alone: a step with only these needs no knex transaction. */
const PREPARED_EFFECTS: ReadonlySet<StepEffect['kind']> = new Set([
  'upsertMachines',
  'updateMachines',
  'deleteMachines',
  'setClusterStatus',
  'setClusterEndpoint',
]);

/** Whether committing `effects` needs a knex transaction (some are written through knex). */
export function needsKnex(effects: StepEffect[]): boolean {
  return effects.some((effect) => !PREPARED_EFFECTS.has(effect.kind));
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
  switch (effect.kind) {
    case 'upsertMachines':
      return upsertMachines(sql, clusterId, effect.machines, now);
    case 'updateMachines':
      return updateMachines(sql, clusterId, effect.machines, now);
    case 'deleteMachines':
      return deleteMachines(sql, clusterId, effect.ids);
    case 'setClusterStatus':
      return setClusterStatus(sql, clusterId, effect.status, effect.message ?? null, now);
    case 'setClusterEndpoint':
      return setClusterEndpoint(sql, clusterId, effect.apiEndpoint, now);
  }
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
    case 'deleteCluster':
      // What other modules keep of the cluster first, then its own row.
      await deleteAddonsOf(trx, clusterId);
      await deleteSnapshotsOf(trx, clusterId);
      await deleteGrantsOn(trx, 'cluster', clusterId);
      await deleteHaConfigsOf(trx, clusterId);
      await releaseAddressesOf(trx, clusterId);
      return deleteClusterRow(trx, clusterId);
  }
}
