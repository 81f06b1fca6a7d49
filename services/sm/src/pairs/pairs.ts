/**
 * Two-node pairs (seed 002): sm keeps the declaration, the token the witness and the two agents
 * share (sealed), the witness's durable snapshot and its last status. It checks what must hold
 * across clusters: two different single-node clusters, each a side of no other pair, with a
 * provisioned machine whose power the provider controls (its BMC, for baremetal).
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { PreparedSql } from '../db/prepared.js';
import { PAIR_TIMING_DEFAULTS, type Pair, type PairCreateRequest, type PairStatusView } from '@cx/api-schemas';
import { ConflictError, InputError, NotFoundError } from '@cx/errors';
import { v7 as uuidv7 } from 'uuid';
import { nowIso } from '@cx/service-kit';
import { isUniqueViolation, withDatabase } from '../db/database.js';
import { toCluster, toMachine, type ClusterRow, type MachineRow } from '../clusters/rows.js';
import type { Machine, PairSideTarget, PairTarget } from '@cx/sm-contract';
import type { SecretBox } from '../secrets/secret-box.js';

type Side = 'a' | 'b';
const SIDES: readonly Side[] = ['a', 'b'];

/** Where an agent listens when the pair does not say: the port on the side's machine. */
export const DEFAULT_AGENT_PORT = 9640;

interface PairRow {
  id: string;
  name: string;
  cluster_a: string;
  cluster_b: string;
  spec: string;
  agent_token: string;
  witness: string | null;
  status: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

type StoredSpec = Pick<Pair, 'sides' | 'singletons' | 'preferredSide' | 'afterFence' | 'timing'>;

export class Pairs {
  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
  ) {}

  async create(request: PairCreateRequest, actor: string): Promise<Pair> {
    const id = uuidv7();
    const now = nowIso();
    const timing = { ...PAIR_TIMING_DEFAULTS, ...request.timing };
    return withDatabase(() =>
      this.db.transaction(async (trx) => {
        const sides = {} as Pair['sides'];
        for (const side of SIDES) {
          const { clusterId, agentUrl } = request.sides[side];
          const field = `body.sides.${side}`;
          const row = (await trx<ClusterRow>('clusters').where({ id: clusterId }).first()) as ClusterRow | undefined;
          if (!row) throw new NotFoundError(`cluster ${clusterId} (side ${side}) does not exist`);
          const cluster = toCluster(row);
          const machines = ((await trx<MachineRow>('machines').where({ cluster_id: row.id })) as MachineRow[]).map(
            toMachine,
          );
          const count = cluster.controlPlane.count + (cluster.nodePools ?? []).reduce((n, p) => n + p.count, 0);
          if (count !== 1 || machines.length !== 1) {
            throw new InputError(
              `cluster ${cluster.name} (side ${side}) has ${count} machines; a side of a pair is a single-node cluster (controlPlane.count 1, no worker pools)`,
              [{ field: `${field}.clusterId`, message: 'must be a single-node cluster' }],
            );
          }
          if (cluster.status !== 'Ready')
            throw new ConflictError(
              `cluster ${cluster.name} (side ${side}) is ${cluster.status}; pair it once it is Ready`,
              'CX_CONFLICT',
              { details: { fields: [{ field: `${field}.clusterId`, message: 'must be Ready' }] } },
            );
          const machine = machines[0]!;
          const url = agentUrl ?? defaultAgentUrl(machine);
          if (!url)
            throw new InputError(
              `machine ${machine.name} of cluster ${cluster.name} reports no address, so cx cannot tell where its pair agent listens; give sides.${side}.agentUrl`,
              [{ field: `${field}.agentUrl`, message: 'is required when the machine has no address' }],
            );
          sides[side] = { clusterId: row.id, agentUrl: url };
        }
        if (sides.a.clusterId === sides.b.clusterId)
          throw new InputError('both sides are the same cluster: a pair needs two clusters', [
            { field: 'body.sides.b.clusterId', message: 'must differ from sides.a.clusterId' },
          ]);
        for (const side of SIDES) {
          const other = (await trx<PairRow>('pairs')
            .where({ cluster_a: sides[side].clusterId })
            .orWhere({ cluster_b: sides[side].clusterId })
            .first('name')) as { name: string } | undefined;
          if (other)
            throw new ConflictError(
              `cluster ${request.sides[side].clusterId} is already a side of pair ${other.name}; a cluster belongs to one pair`,
              'CX_CONFLICT',
              {
                details: {
                  fields: [{ field: `body.sides.${side}.clusterId`, message: `is a side of pair ${other.name}` }],
                },
              },
            );
        }
        const spec: StoredSpec = {
          sides,
          singletons: request.singletons,
          preferredSide: request.preferredSide ?? 'a',
          afterFence: request.afterFence ?? 'power-on',
          timing,
        };
        const token = randomBytes(32).toString('base64url');
        try {
          await trx('pairs').insert({
            id,
            name: request.name,
            cluster_a: sides.a.clusterId,
            cluster_b: sides.b.clusterId,
            spec: JSON.stringify(spec),
            agent_token: this.box.seal(token, `pairs:${id}`),
            witness: null,
            status: null,
            created_by: actor,
            created_at: now,
            updated_at: now,
            version: 1,
          });
        } catch (error) {
          if (isUniqueViolation(error))
            throw new ConflictError(
              `a pair named ${request.name} exists, or one of its clusters joined another pair meanwhile`,
              'CX_NAME_TAKEN',
              { details: { fields: [{ field: 'body.name', message: 'is already in use' }] } },
            );
          throw error;
        }
        return toPair((await trx<PairRow>('pairs').where({ id }).first()) as PairRow);
      }),
    );
  }

  async get(id: string): Promise<Pair> {
    return toPair(await this.row(id));
  }

  /** A page of pairs, oldest first; `visible` keeps those the caller may see. */
  async list(
    limit: number,
    cursor: string | undefined,
    visible: (pair: Pair) => Promise<boolean>,
  ): Promise<{ items: Pair[]; nextCursor: string | null }> {
    const items: Pair[] = [];
    let last = cursor ? Buffer.from(cursor, 'base64url').toString() : '';
    for (;;) {
      const query = this.db<PairRow>('pairs').orderBy('id').limit(200);
      if (last) void query.where('id', '>', last);
      const rows = (await withDatabase(() => query)) as PairRow[];
      for (const row of rows) {
        last = row.id;
        const pair = toPair(row);
        if (await visible(pair)) items.push(pair);
        if (items.length > limit)
          return { items: items.slice(0, limit), nextCursor: Buffer.from(items[limit - 1]!.id).toString('base64url') };
      }
      if (rows.length < 200) return { items, nextCursor: null };
    }
  }

  async delete(id: string): Promise<void> {
    const deleted = await withDatabase(() => this.db('pairs').where({ id }).delete());
    if (deleted === 0) throw new NotFoundError(`pair ${id} does not exist`);
  }

  /** Every pair with what the witness needs, token included (sddc only). */
  async targets(): Promise<PairTarget[]> {
    const rows = (await withDatabase(() => this.db<PairRow>('pairs').orderBy('id'))) as PairRow[];
    if (rows.length === 0) return [];
    const clusterIds = rows.flatMap((r) => [r.cluster_a, r.cluster_b]);
    const clusters = new Map(
      ((await withDatabase(() => this.db<ClusterRow>('clusters').whereIn('id', clusterIds))) as ClusterRow[]).map(
        (c) => [c.id, c],
      ),
    );
    const machines = new Map(
      (
        (await withDatabase(() => this.db<MachineRow>('machines').whereIn('cluster_id', clusterIds))) as MachineRow[]
      ).map((m) => [m.cluster_id, m]),
    );
    return rows.map((row) => {
      const pair = toPair(row);
      const sides = {} as Record<Side, PairSideTarget>;
      for (const side of SIDES) {
        const { clusterId, agentUrl } = pair.sides[side];
        const cluster = clusters.get(clusterId);
        sides[side] = {
          clusterId,
          clusterName: cluster?.name ?? clusterId,
          provider: cluster?.provider ?? '',
          machineId: machines.get(clusterId)?.id ?? null,
          agentUrl,
        };
      }
      return {
        id: row.id,
        spec: witnessSpec(pair, sides),
        sides,
        token: this.token(row),
        witness: row.witness ? (JSON.parse(row.witness) as unknown) : null,
      };
    });
  }

  /** The configuration a side's agent runs with (`cx-pair-agent --config`): the same spec as the witness's. */
  async agentConfig(id: string, side: Side): Promise<Record<string, unknown>> {
    const target = (await this.targets()).find((t) => t.id === id);
    if (!target) throw new NotFoundError(`pair ${id} does not exist`);
    const port = new URL(target.sides[side].agentUrl).port || String(DEFAULT_AGENT_PORT);
    return {
      spec: target.spec,
      side,
      listen: `0.0.0.0:${port}`,
      peerUrl: target.sides[side === 'a' ? 'b' : 'a'].agentUrl,
      token: target.token,
      stateDir: '/var/lib/cx-pair-agent',
    };
  }

  /** The witness's snapshot, written before it acts on a decision. */
  async saveWitness(id: string, snapshot: unknown): Promise<void> {
    const changed = await withDatabase(() =>
      this.db('pairs')
        .where({ id })
        .update({ witness: JSON.stringify(snapshot) }),
    );
    if (changed === 0) throw new NotFoundError(`pair ${id} does not exist`);
  }

  /** What the witness last saw and decided; an observation, so it changes no version. */
  async saveStatus(id: string, status: PairStatusView): Promise<void> {
    const changed = await withDatabase(() =>
      this.db('pairs')
        .where({ id })
        .update({ status: JSON.stringify(status) }),
    );
    if (changed === 0) throw new NotFoundError(`pair ${id} does not exist`);
  }

  /** Refuses to delete or resize a cluster that is a side of a pair (inside the caller's transaction). */
  static async assertNotPaired(sql: PreparedSql, clusterId: string, what: string): Promise<void> {
    const pair = await sql.first<{ id: string; name: string }>(
      'SELECT `id`, `name` FROM `pairs` WHERE `cluster_a` = ? OR `cluster_b` = ? LIMIT 1',
      [clusterId, clusterId],
    );
    if (pair)
      throw new ConflictError(
        `the cluster is a side of pair ${pair.name}: ${what} would break the pair; delete the pair first (DELETE /api/v1/pairs/${pair.id})`,
        'CX_CONFLICT',
        { details: { pairId: pair.id } },
      );
  }

  private async row(id: string): Promise<PairRow> {
    const row = (await withDatabase(() => this.db<PairRow>('pairs').where({ id }).first())) as PairRow | undefined;
    if (!row) throw new NotFoundError(`pair ${id} does not exist`);
    return row;
  }

  private token(row: PairRow): string {
    return this.box.open(row.agent_token, `pairs:${row.id}`);
  }
}

function defaultAgentUrl(machine: Machine): string | undefined {
  const address = machine.addresses[0];
  if (!address) return undefined;
  return `http://${address.includes(':') ? `[${address}]` : address}:${DEFAULT_AGENT_PORT}`;
}

/**
 * The `@cx/pair` PairSpec of a pair. A side's "BMC" is its provider's power control of the side's
 * machine (for baremetal, the host's Redfish or IPMI BMC behind it).
 */
function witnessSpec(pair: Pair, sides: Record<Side, PairSideTarget>): Record<string, unknown> {
  const side = (s: Side): Record<string, unknown> => ({
    cluster: sides[s].clusterId,
    bmc: { protocol: 'provider', address: `${sides[s].provider}/${sides[s].machineId ?? ''}` },
  });
  return {
    name: pair.name,
    sides: { a: side('a'), b: side('b') },
    singletons: pair.singletons,
    preferredSide: pair.preferredSide,
    afterFence: pair.afterFence,
    ...pair.timing,
  };
}

function toPair(row: PairRow): Pair {
  const spec = JSON.parse(row.spec) as StoredSpec;
  return {
    id: row.id,
    name: row.name,
    ...spec,
    status: row.status ? (JSON.parse(row.status) as PairStatusView) : null,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}
