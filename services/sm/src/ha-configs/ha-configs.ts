/**
 * ha-configs (seed 001): floating VIPs of a cluster, held by keepalived on the nodes a selector
 * picks. sm keeps them and checks what must hold across a cluster's ha-configs: no VIP in two of
 * them, and no VRRP router id used twice (VRRP peers on one network tell instances apart by it).
 */
import type { Knex } from 'knex';
import type { PreparedSql } from '../db/prepared.js';
import type { HaConfig, HaConfigCreateRequest, HaConfigSpec, HaConfigStatus } from '@cx/api-schemas';
import { ConflictError, InputError, NotFoundError } from '@cx/errors';
import { expand, findOverlap, RangeSyntaxError, type AddressRange } from '@cx/ipam';
import { nowIso } from '@cx/service-kit';
import type { StepEffect } from '@cx/sm-contract';
import { isUniqueViolation, withDatabase } from '../db/database.js';
import { rangesOf } from '../ip-pools/ip-pools.js';

interface HaConfigRow {
  id: string;
  cluster_id: string;
  name: string;
  spec: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
  /** JSON of `HaConfigStatus.applied` and `.sync`; null until written. */
  applied_status: string | null;
  sync_status: string | null;
}

/** VRRP allows 255 router ids per network. */
const MAX_VIPS = 255;

export class HaConfigs {
  constructor(private readonly db: Knex) {}

  async list(clusterId: string): Promise<HaConfig[]> {
    const rows = (await withDatabase(() =>
      this.db<HaConfigRow>('ha_configs').where({ cluster_id: clusterId }).orderBy('name'),
    )) as HaConfigRow[];
    return rows.map(toHaConfig);
  }

  /** The ha-configs of several clusters at once (the node health monitor's page of clusters). */
  async ofClusters(clusterIds: readonly string[]): Promise<Map<string, HaConfig[]>> {
    const byCluster = new Map<string, HaConfig[]>(clusterIds.map((id) => [id, []]));
    if (clusterIds.length === 0) return byCluster;
    const rows = (await withDatabase(() =>
      this.db<HaConfigRow>('ha_configs').whereIn('cluster_id', clusterIds).orderBy('name'),
    )) as HaConfigRow[];
    for (const row of rows) byCluster.get(row.cluster_id)?.push(toHaConfig(row));
    return byCluster;
  }

  /**
   * Records how the nodes that match compare with the applied ones, as the health monitor saw it.
   * An observation, like a cluster's health status: it changes no version.
   */
  async setSync(id: string, sync: NonNullable<HaConfigStatus['sync']>): Promise<void> {
    const changed = await withDatabase(() =>
      this.db('ha_configs')
        .where({ id })
        .update({ sync_status: JSON.stringify(sync) }),
    );
    if (changed === 0) throw new NotFoundError(`ha-config ${id} does not exist`);
  }

  async get(id: string): Promise<HaConfig> {
    const row = (await withDatabase(() => this.db<HaConfigRow>('ha_configs').where({ id }).first())) as
      HaConfigRow | undefined;
    if (!row) throw new NotFoundError(`ha-config ${id} does not exist`);
    return toHaConfig(row);
  }

  /** Checks the request against the cluster's other ha-configs and stores it (inside the caller's transaction). */
  async create(trx: Knex.Transaction, id: string, request: HaConfigCreateRequest, actor: string): Promise<HaConfig> {
    const ranges = rangesOf(request.virtualIps, 'body.virtualIps');
    let vips: string[];
    try {
      vips = expand(ranges, MAX_VIPS);
    } catch (error) {
      if (error instanceof RangeSyntaxError)
        throw new InputError(`an ha-config holds at most ${MAX_VIPS} VIPs (one VRRP router id each)`, [
          { field: 'body.virtualIps', message: error.message },
        ]);
      throw error;
    }
    const others = (await trx<HaConfigRow>('ha_configs').where({ cluster_id: request.clusterId })).map(toHaConfig);
    for (const other of others) {
      const overlap = findOverlap(ranges, rangesOf(other.virtualIps, 'body.virtualIps'));
      if (overlap)
        throw conflict(
          `VIP ${overlap[0].text} overlaps ${overlap[1].text} of ha-config ${other.name}; a VIP is kept by one ha-config`,
          'body.virtualIps',
        );
    }
    const taken = others.map((o) => [o.vrrpIdOffset, o.vrrpIdOffset + expandCount(o) - 1] as const);
    const vrrpIdOffset = request.vrrpIdOffset ?? lowestFreeOffset(taken, vips.length);
    if (vrrpIdOffset === undefined)
      throw conflict(
        `no run of ${vips.length} free VRRP router ids is left in this cluster (1..255)`,
        'body.virtualIps',
      );
    if (vrrpIdOffset + vips.length - 1 > 255)
      throw new InputError(`VRRP router ids ${vrrpIdOffset}..${vrrpIdOffset + vips.length - 1} pass 255`, [
        { field: 'body.vrrpIdOffset', message: `must be at most ${256 - vips.length} for ${vips.length} VIPs` },
      ]);
    const clash = taken.find(([first, last]) => vrrpIdOffset <= last && first <= vrrpIdOffset + vips.length - 1);
    if (clash)
      throw conflict(
        `VRRP router ids ${vrrpIdOffset}..${vrrpIdOffset + vips.length - 1} collide with ${clash[0]}..${clash[1]} of another ha-config of the cluster`,
        'body.vrrpIdOffset',
      );
    const spec: HaConfigSpec = {
      virtualIps: ranges.map((r: AddressRange) => r.text).join(','),
      selector: request.selector ?? {},
      watchPort: request.watchPort,
      interface: request.interface,
      unicast: request.unicast,
      vrrpIdOffset,
      preempt: request.preempt,
      profile: request.profile ?? 'default',
    };
    const now = nowIso();
    try {
      await trx('ha_configs').insert({
        id,
        cluster_id: request.clusterId,
        name: request.name,
        spec: JSON.stringify(spec),
        created_by: actor,
        created_at: now,
        updated_at: now,
        version: 1,
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(`the cluster already has an ha-config named ${request.name}`, 'CX_NAME_TAKEN', {
          details: { fields: [{ field: 'body.name', message: 'is already in use in this cluster' }] },
        });
      throw error;
    }
    return {
      id,
      clusterId: request.clusterId,
      name: request.name,
      ...spec,
      createdBy: actor,
      createdAt: now,
      updatedAt: now,
      version: 1,
      status: { applied: null, sync: null },
    };
  }

  async delete(trx: Knex.Transaction, id: string): Promise<void> {
    await trx('ha_configs').where({ id }).delete();
  }
}

function conflict(message: string, field: string): ConflictError {
  return new ConflictError(message, 'CX_CONFLICT', { details: { fields: [{ field, message }] } });
}

function expandCount(config: HaConfig): number {
  return expand(rangesOf(config.virtualIps, 'virtualIps'), MAX_VIPS).length;
}

/** The lowest offset whose `count` router ids are all free (1..255). */
function lowestFreeOffset(taken: ReadonlyArray<readonly [number, number]>, count: number): number | undefined {
  for (let offset = 1; offset + count - 1 <= 255; offset += 1) {
    const last = offset + count - 1;
    const blocker = taken.find(([first, end]) => offset <= end && first <= last);
    if (!blocker) return offset;
    offset = blocker[1];
  }
  return undefined;
}

function toHaConfig(row: HaConfigRow): HaConfig {
  const spec = JSON.parse(row.spec) as HaConfigSpec;
  const status: HaConfigStatus = {
    applied: row.applied_status ? (JSON.parse(row.applied_status) as HaConfigStatus['applied']) : null,
    sync: row.sync_status ? (JSON.parse(row.sync_status) as HaConfigStatus['sync']) : null,
  };
  return {
    id: row.id,
    clusterId: row.cluster_id,
    name: row.name,
    ...spec,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    status,
  };
}

/** Effects of the ha-config workflows, committed with their step's result. */
export async function setHaConfigApplied(
  trx: Knex.Transaction,
  clusterId: string,
  id: string,
  applied: Pick<Extract<StepEffect, { kind: 'setHaConfigApplied' }>, 'nodes' | 'workflowId'>,
  now: string,
): Promise<void> {
  await trx('ha_configs')
    .where({ id, cluster_id: clusterId })
    .update({ applied_status: JSON.stringify({ nodes: applied.nodes, at: now, workflowId: applied.workflowId }) });
}

export async function deleteHaConfig(trx: Knex.Transaction, clusterId: string, id: string): Promise<void> {
  await trx('ha_configs').where({ id, cluster_id: clusterId }).delete();
}

/** A deleted cluster's ha-configs go with it. */
export async function deleteHaConfigsOf(sql: PreparedSql, clusterId: string): Promise<void> {
  await sql.run('DELETE FROM `ha_configs` WHERE `cluster_id` = ?', [clusterId]);
}
