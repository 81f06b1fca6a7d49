/**
 * The bare-metal host inventory: hosts an admin registered (BMC access sealed at rest), and which
 * machine holds each. A claim is one conditional UPDATE on a free row, so two machines racing for
 * the last host cannot both win, and a repeated claim by the same machine returns its host.
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import type { Host, HostCleanup, HostCreateRequest, Page } from '@cx/api-schemas';
import { ConflictError, NotFoundError, ProviderError } from '@cx/errors';
import type { MachineSpec } from '@cx/sddc-contract';
import type { HostClaim, RevealedHost } from '@cx/sm-contract';
import { nowIso } from '@cx/service-kit';
import { isUniqueViolation, nameTaken, withDatabase } from '../db/database.js';
import { keysetPage } from '../db/pagination.js';
import type { SecretBox } from '../secrets/secret-box.js';

interface HostRow {
  id: string;
  name: string;
  bmc_protocol: 'redfish' | 'ipmi';
  bmc_address: string;
  bmc_username: string;
  bmc_secret: string;
  bmc_ca_cert: string | null;
  bmc_insecure: number | boolean;
  bmc_system_id: string | null;
  boot_mac: string | null;
  addresses: string;
  labels: string;
  capacity: string;
  cluster_id: string | null;
  machine_id: string | null;
  machine_name: string | null;
  claimed_at: string | null;
  cleanup: string | null;
  cleaning_since: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

/** Label that reserves a host for the machines of one pool. */
export const POOL_LABEL = 'cx/pool';

export class Hosts {
  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
  ) {}

  async list(limit: number, cursor: string | undefined): Promise<Page<Host>> {
    const { rows, nextCursor } = await keysetPage<HostRow>(this.db('hosts'), limit, cursor);
    return { items: rows.map(toHost), nextCursor };
  }

  async get(idOrName: string): Promise<Host> {
    return toHost(await this.row(idOrName));
  }

  /** Stores a host whose BMC access sddc has already checked. */
  async create(request: HostCreateRequest, actor: string): Promise<Host> {
    const now = nowIso();
    const id = uuidv7();
    const { bmc } = request;
    try {
      await withDatabase(() =>
        this.db('hosts').insert({
          id,
          name: request.name,
          bmc_protocol: bmc.protocol,
          bmc_address: bmc.address,
          bmc_username: bmc.username,
          bmc_secret: this.box.seal(JSON.stringify({ password: bmc.password }), `hosts:${id}`),
          bmc_ca_cert: bmc.caCert ?? null,
          bmc_insecure: bmc.insecure,
          bmc_system_id: bmc.systemId ?? null,
          boot_mac: request.bootMac?.toLowerCase() ?? null,
          addresses: JSON.stringify(request.addresses),
          labels: JSON.stringify(request.labels ?? {}),
          capacity: JSON.stringify({ ...request.capacity, diskGiB: request.capacity.diskGiB ?? 100 }),
          created_by: actor,
          created_at: now,
          updated_at: now,
          version: 1,
        }),
      );
    } catch (error) {
      throw nameTaken(error, 'a host', request.name);
    }
    return this.get(id);
  }

  async delete(idOrName: string): Promise<void> {
    const row = await this.row(idOrName);
    const deleted = await withDatabase(() => this.db('hosts').where({ id: row.id }).whereNull('machine_id').delete());
    if (deleted === 0)
      throw new ConflictError(
        `host ${row.name} is claimed by machine ${row.machine_name ?? row.machine_id} of cluster ${row.cluster_id}; delete or scale down that cluster first`,
      );
  }

  /**
   * The host of the machine: the one it already holds, or a free one that fits (capacity at least
   * the machine's resources; a host labelled `cx/pool` only for that pool, and preferred by it).
   */
  async claim(spec: MachineSpec): Promise<RevealedHost> {
    const held = await this.claimOf(spec.clusterId, spec.machineId);
    if (held) return held;
    const free = (await withDatabase(() =>
      this.db<HostRow>('hosts').whereNull('machine_id').whereNull('cleaning_since').orderBy('name'),
    )) as HostRow[];
    const cluster = (await withDatabase(() => this.db('clusters').where({ id: spec.clusterId }).first('spec'))) as
      { spec: string } | undefined;
    const cleanup: HostCleanup =
      (cluster ? (JSON.parse(cluster.spec) as { hostCleanup?: HostCleanup }).hostCleanup : undefined) ?? 'power-off';
    const fits = free
      .filter((row) => {
        const labels = JSON.parse(row.labels) as Record<string, string>;
        const capacity = JSON.parse(row.capacity) as RevealedHost['capacity'];
        const pool = labels[POOL_LABEL];
        return (
          (pool === undefined || pool === spec.pool) &&
          capacity.vcpus >= (spec.resources?.vcpus ?? 0) &&
          capacity.memoryMiB >= (spec.resources?.memoryMiB ?? 0) &&
          capacity.diskGiB >= (spec.resources?.diskGiB ?? 0)
        );
      })
      .sort(
        (a, b) =>
          Number(JSON.parse(b.labels)[POOL_LABEL] === spec.pool) -
          Number(JSON.parse(a.labels)[POOL_LABEL] === spec.pool),
      );
    for (const row of fits) {
      try {
        const won = await withDatabase(() =>
          this.db('hosts')
            .where({ id: row.id, version: row.version })
            .whereNull('machine_id')
            .whereNull('cleaning_since')
            .update({
              cluster_id: spec.clusterId,
              machine_id: spec.machineId,
              machine_name: spec.name,
              claimed_at: nowIso(),
              cleanup,
              updated_at: nowIso(),
              version: row.version + 1,
            }),
        );
        if (won === 1) return this.reveal({ ...row, cluster_id: spec.clusterId, machine_id: spec.machineId, cleanup });
      } catch (error) {
        // The same machine claimed another host concurrently (machine_id is unique): that one is its host.
        if (!isUniqueViolation(error)) throw error;
        const mine = await this.claimOf(spec.clusterId, spec.machineId);
        if (mine) return mine;
      }
    }
    throw new ProviderError(
      `no free bare-metal host fits machine ${spec.name} (pool ${spec.pool}${spec.resources ? `, ${JSON.stringify(spec.resources)}` : ''}): ${free.length} free, ${fits.length} fitting; register hosts (POST /api/v1/hosts) or free some`,
      { details: { reason: 'NoFreeHost' }, retryable: false },
    );
  }

  async claimOf(clusterId: string, machineId: string): Promise<RevealedHost | null> {
    const row = (await withDatabase(() =>
      this.db<HostRow>('hosts').where({ machine_id: machineId, cluster_id: clusterId }).first(),
    )) as HostRow | undefined;
    return row ? this.reveal(row) : null;
  }

  async claims(clusterId: string): Promise<HostClaim[]> {
    const rows = (await withDatabase(() =>
      this.db<HostRow>('hosts').where({ cluster_id: clusterId }).whereNotNull('machine_id').orderBy('name'),
    )) as HostRow[];
    return rows.map((row) => ({
      host: this.reveal(row),
      clusterId,
      machineId: row.machine_id!,
      machineName: row.machine_name ?? '',
    }));
  }

  /** Frees the machine's host (held back as cleaning with `cleaning`); a machine that holds none is a success. */
  async release(clusterId: string, machineId: string, cleaning = false): Promise<void> {
    await withDatabase(() =>
      this.db('hosts')
        .where({ cluster_id: clusterId, machine_id: machineId })
        .update({
          cluster_id: null,
          machine_id: null,
          machine_name: null,
          claimed_at: null,
          cleanup: null,
          cleaning_since: cleaning ? nowIso() : null,
          updated_at: nowIso(),
          version: this.db.raw('version + 1'),
        }),
    );
  }

  /** Hosts being cleaned, for sddc to see which have finished. */
  async cleaning(): Promise<RevealedHost[]> {
    const rows = (await withDatabase(() =>
      this.db<HostRow>('hosts').whereNotNull('cleaning_since').orderBy('name'),
    )) as HostRow[];
    return rows.map((row) => this.reveal(row));
  }

  /** A cleaned host is free again. */
  async cleaned(hostId: string): Promise<void> {
    await withDatabase(() =>
      this.db('hosts')
        .where({ id: hostId })
        .whereNotNull('cleaning_since')
        .update({ cleaning_since: null, updated_at: nowIso(), version: this.db.raw('version + 1') }),
    );
  }

  private reveal(row: HostRow): RevealedHost {
    const { password } = JSON.parse(this.box.open(row.bmc_secret, `hosts:${row.id}`)) as { password: string };
    return {
      id: row.id,
      name: row.name,
      bmc: {
        protocol: row.bmc_protocol,
        address: row.bmc_address,
        username: row.bmc_username,
        password,
        caCert: row.bmc_ca_cert,
        insecure: row.bmc_insecure === true || row.bmc_insecure === 1,
        ...(row.bmc_system_id ? { systemId: row.bmc_system_id } : {}),
      },
      ...(row.boot_mac ? { bootMac: row.boot_mac } : {}),
      addresses: JSON.parse(row.addresses) as string[],
      labels: JSON.parse(row.labels) as Record<string, string>,
      capacity: JSON.parse(row.capacity) as RevealedHost['capacity'],
      ...(row.cleanup ? { cleanup: row.cleanup as HostCleanup } : {}),
    };
  }

  private async row(idOrName: string): Promise<HostRow> {
    const row = (await withDatabase(() =>
      this.db<HostRow>('hosts').where({ id: idOrName }).orWhere({ name: idOrName }).first(),
    )) as HostRow | undefined;
    if (!row) throw new NotFoundError(`host ${idOrName} does not exist`);
    return row;
  }
}

function toHost(row: HostRow): Host {
  return {
    id: row.id,
    name: row.name,
    bmc: {
      protocol: row.bmc_protocol,
      address: row.bmc_address,
      username: row.bmc_username,
      insecure: row.bmc_insecure === true || row.bmc_insecure === 1,
      hasCaCert: row.bmc_ca_cert !== null,
      systemId: row.bmc_system_id,
    },
    bootMac: row.boot_mac,
    addresses: JSON.parse(row.addresses) as string[],
    labels: JSON.parse(row.labels) as Record<string, string>,
    capacity: JSON.parse(row.capacity) as Host['capacity'],
    state: row.machine_id ? 'claimed' : row.cleaning_since ? 'cleaning' : 'available',
    cleaningSince: row.cleaning_since ?? null,
    claim: row.machine_id
      ? {
          clusterId: row.cluster_id!,
          machineId: row.machine_id,
          machineName: row.machine_name ?? '',
          claimedAt: row.claimed_at ?? '',
        }
      : null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
