/**
 * Workflow runs and their steps. Every state change of a run is one transaction, guarded by the
 * run's status, current step and generation, so that a duplicated or late job cannot move a run
 * twice; the run holds its cluster (clusters/lock.ts) from start to end.
 */
import type { Knex } from 'knex';
import { PAGE_LIMIT_DEFAULT, type ClusterStatus, type Page, type Workflow } from '@cx/api-schemas';
import { ConflictError, CxError, NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import type {
  Accepted as WireAccepted,
  ActiveRun,
  Run,
  RunListQuery,
  StartRequest,
  StepAdvanced,
  StepEffect,
  StepError,
  StepCompleted,
  StepStart,
  StepTransitionCall,
  StepTransitionOutcome,
  StartStepCall,
  StepProgressCall,
  CompleteStepCall,
  AdvanceStepCall,
} from '@cx/sm-contract';
import { setMachineCondition } from '../clusters/effects.js';
import { lockCluster, releaseCluster } from '../clusters/lock.js';
import { toCluster, toMachine, type ClusterRow, type MachineRow } from '../clusters/rows.js';
import type { TenantCredentials } from '../clusters/tenant-credentials.js';
import type { Visibility } from '../access/access-control.js';
import { isUniqueViolation, withDatabase } from '../db/database.js';
import { keysetPage } from '../db/pagination.js';
import { prepared, preparedTransaction, setClause, type PreparedSql, type SqlValue } from '../db/prepared.js';
import { applyEffect, needsKnex } from './effects.js';
import { publicWorkflow, toWorkflow, type RunRow, type StepRow } from './rows.js';

/**
 * Failures that leave the cluster running as it was: a drain that PodDisruptionBudgets blocked
 * only cordoned nodes. The run fails (to be retried or rolled back); the cluster stays Ready, with
 * the failure as its status message, instead of the whole cluster being marked Failed.
 */
const LEAVES_CLUSTER_RUNNING = new Set(['CX_DRAIN_BLOCKED']);

/** sm's answer to a start, with the HTTP status it is sent with. */
export interface Accepted extends WireAccepted {
  status: number;
}

export class WorkflowRuns {
  constructor(
    private readonly db: Knex,
    private readonly tenants: TenantCredentials,
  ) {}

  /** Records a new run of `start.workflow` on the cluster, all its steps Pending, in the caller's transaction. */
  async insert(sql: PreparedSql, runId: string, clusterId: string, start: StartRequest, now: string): Promise<void> {
    await sql.run(
      'INSERT INTO `workflow_runs` (`id`, `workflow`, `workflow_version`, `cluster_id`, `status`, `current_step`, `generation`, `input`, `output`, `error`, `created_by`, `created_at`, `updated_at`, `started_at`, `finished_at`, `version`) VALUES (?, ?, ?, ?, ?, 0, 0, ?, NULL, NULL, ?, ?, ?, NULL, NULL, 1)',
      [
        runId,
        start.workflow.workflow,
        start.workflow.version,
        clusterId,
        'Pending',
        JSON.stringify({ ...start.workflow.input, clusterStatus: start.workflow.clusterStatus }),
        start.actor,
        now,
        now,
      ],
    );
    for (const [idx, name] of start.workflow.steps.entries())
      await sql.run(
        'INSERT INTO `workflow_steps` (`run_id`, `idx`, `name`, `status`, `attempts`) VALUES (?, ?, ?, ?, 0)',
        [runId, idx, name, 'Pending'],
      );
  }

  /**
   * Runs `work` in a transaction that also records the answer under the caller's Idempotency-Key,
   * so that a retry with the same key gets the first answer and starts nothing new. `work` may
   * write through the knex transaction as well as with prepared statements.
   */
  async idempotent(
    start: StartRequest,
    work: (trx: Knex.Transaction, sql: PreparedSql) => Promise<Accepted['body']>,
  ): Promise<Accepted> {
    return this.once(start, () =>
      this.db.transaction(async (trx) => {
        const sql = await prepared(trx);
        return this.keyAnswered(sql, start, await work(trx, sql));
      }),
    );
  }

  /**
   * As `idempotent`; the transaction is a knex one only when `knex` (part of `work`, a rare one,
   * writes through knex, and gets the knex transaction), else prepared statements alone, without
   * a knex transaction to set up (about 0.1 ms of CPU of a create's or a delete's request).
   */
  async idempotentWith(
    start: StartRequest,
    { knex }: { knex: boolean },
    work: (sql: PreparedSql, trx: Knex.Transaction | undefined) => Promise<Accepted['body']>,
  ): Promise<Accepted> {
    if (knex) return this.idempotent(start, (trx, sql) => work(sql, trx));
    return this.once(start, () =>
      preparedTransaction(this.db, async (sql) => this.keyAnswered(sql, start, await work(sql, undefined))),
    );
  }

  /** The first answer under the request's Idempotency-Key, if there is one; else what `transaction` commits. */
  private async once(start: StartRequest, transaction: () => Promise<Accepted['body']>): Promise<Accepted> {
    const key = start.idempotencyKey;
    const requestHash = start.requestHash ?? '';
    const replay = async (): Promise<Accepted | null> => {
      if (!key) return null;
      const row = (await this.db('idempotency_keys').where({ scope: start.actor, idem_key: key }).first()) as
        { request_hash: string; response_status: number; response_body: string } | undefined;
      if (!row) return null;
      if (row.request_hash !== requestHash)
        throw new ConflictError(
          'this Idempotency-Key was used for a different request; use a new key',
          'CX_IDEMPOTENCY_MISMATCH',
        );
      return {
        status: row.response_status,
        body: JSON.parse(row.response_body) as WireAccepted['body'],
        replayed: true,
      };
    };
    return withDatabase(async () => {
      const earlier = await replay();
      if (earlier) return earlier;
      try {
        return { status: 202, body: await transaction(), replayed: false };
      } catch (error) {
        // Two concurrent requests with one key: the loser answers what the winner committed.
        if (key && isUniqueViolation(error)) {
          const winner = await replay();
          if (winner) return winner;
        }
        throw error;
      }
    });
  }

  /** Records `answer` under the request's Idempotency-Key (if it has one), in the transaction of `sql`; answers it. */
  private async keyAnswered(
    sql: PreparedSql,
    start: StartRequest,
    answer: Accepted['body'],
  ): Promise<Accepted['body']> {
    if (start.idempotencyKey)
      await sql.run(
        'INSERT INTO `idempotency_keys` (`scope`, `idem_key`, `request_hash`, `response_status`, `response_body`, `created_at`) VALUES (?, ?, ?, ?, ?, ?)',
        [start.actor, start.idempotencyKey, start.requestHash ?? '', 202, JSON.stringify(answer), nowIso()],
      );
    return answer;
  }

  /**
   * One page of runs, newest first, filtered by `query` and limited to the clusters `visible` lets
   * the caller see (by grant on the cluster, or on its resource group while it exists).
   */
  async list(query: RunListQuery, visible: Visibility): Promise<Page<Workflow>> {
    const runs = this.db('workflow_runs');
    if (query.clusterId !== undefined) void runs.where('cluster_id', query.clusterId);
    if (query.status !== undefined) void runs.where('status', query.status);
    if (query.workflow !== undefined) void runs.where('workflow', query.workflow);
    if (!visible.all)
      void runs.where((q) => {
        void q
          .whereIn('cluster_id', visible.clusterIds)
          .orWhereIn(
            'cluster_id',
            this.db('clusters').whereIn('resource_group_id', visible.resourceGroupIds).select('id'),
          );
      });
    const { rows, nextCursor } = await keysetPage<RunRow>(
      runs,
      query.limit ?? PAGE_LIMIT_DEFAULT,
      query.cursor,
      'desc',
    );
    const steps = (await withDatabase(() =>
      this.db<StepRow>('workflow_steps').whereIn(
        'run_id',
        rows.map((r) => r.id),
      ),
    )) as StepRow[];
    const items = rows.map((run) =>
      publicWorkflow(
        toWorkflow(
          run,
          steps.filter((step) => step.run_id === run.id),
        ),
      ),
    );
    return { items, nextCursor };
  }

  async get(id: string): Promise<Run> {
    return withDatabase(async () => {
      const run = await this.db<RunRow>('workflow_runs').where({ id }).first();
      if (!run) throw new NotFoundError(`workflow ${id} does not exist`);
      const steps = await this.db<StepRow>('workflow_steps').where({ run_id: id });
      return toWorkflow(run as RunRow, steps as StepRow[]);
    });
  }

  /**
   * Runs that should have a live step job, the reconciler's work list: Pending and Running runs by
   * id, optionally only those unchanged since `idleSince` (ISO time).
   */
  async active(limit: number, after?: string, idleSince?: string): Promise<ActiveRun[]> {
    return withDatabase(async () => {
      const query = this.db<RunRow>('workflow_runs')
        .whereIn('status', ['Pending', 'Running'])
        .orderBy('id')
        .limit(limit)
        .select('id', 'current_step', 'generation', 'status', 'owner_job');
      if (after) void query.where('id', '>', after);
      if (idleSince) void query.where('updated_at', '<', idleSince);
      const rows = await query;
      return (rows as RunRow[]).map((r) => ({
        id: r.id,
        currentStep: r.current_step,
        generation: r.generation,
        status: r.status,
        ownerJob: r.owner_job,
      }));
    });
  }

  /**
   * Marks a step as started (attempt counted) for `jobId`, the job running it; refuses a job that is
   * not the run's current step. Answers the run with what a step reads, its cluster and machines,
   * in one call and one transaction, with prepared statements (db/prepared.ts): this is the
   * engine's hottest path.
   */
  async startStep(runId: string, idx: number, generation: number, attempt: number, jobId?: string): Promise<StepStart> {
    return this.transition([], (sql) => this.start(sql, { call: 'start', runId, idx, generation, attempt, jobId }));
  }

  private async start(sql: PreparedSql, call: StartStepCall): Promise<StepStart> {
    const run = await this.currentRun(sql, call.runId, call.idx, call.generation);
    const owner = call.jobId ?? run.owner_job;
    // The job that runs the step, back after a wait or its operations, in the same attempt: there
    // is nothing to record, and a transaction that only reads writes nothing to the log.
    if (run.status === 'Running' && run.owner_job === owner) {
      const steps = await this.stepsOf(sql, run.id);
      const step = steps.find((s) => s.idx === run.current_step);
      if (step?.status === 'Running' && step.attempts === call.attempt) return this.stepStart(sql, run, steps);
    }
    return this.beginStep(sql, run, call.attempt, owner);
  }

  /** The run's current step marked Running; the step's start as startStep answers it. */
  private async beginStep(sql: PreparedSql, row: RunRow, attempt: number, jobId: string | null): Promise<StepStart> {
    const now = nowIso();
    const run = await this.updateRun(sql, row, {
      status: 'Running',
      started_at: row.started_at ?? now,
      updated_at: now,
      owner_job: jobId,
    });
    await this.markStepStarted(sql, run, attempt, now);
    return this.stepStart(sql, run);
  }

  /** `steps`: the run's steps as read in this transaction, updated in place as written. */
  private async markStepStarted(
    sql: PreparedSql,
    run: RunRow,
    attempt: number,
    now: string,
    steps?: StepRow[],
  ): Promise<void> {
    await sql.run(
      'UPDATE `workflow_steps` SET `status` = ?, `attempts` = ?, `started_at` = coalesce(`started_at`, ?) WHERE `run_id` = ? AND `idx` = ?',
      ['Running', attempt, now, run.id, run.current_step],
    );
    const step = steps?.find((s) => s.idx === run.current_step);
    if (step) Object.assign(step, { status: 'Running', attempts: attempt, started_at: step.started_at ?? now });
  }

  /**
   * What a step reads when it starts: its run with every step, its cluster and its machines.
   * `steps`: the run's steps when the transaction has read them already.
   */
  private async stepStart(sql: PreparedSql, run: RunRow, steps?: StepRow[]): Promise<StepStart> {
    steps ??= await this.stepsOf(sql, run.id);
    const cluster = await sql.first<ClusterRow>('SELECT * FROM `clusters` WHERE `id` = ?', [run.cluster_id]);
    const machines = await sql.all<MachineRow>('SELECT * FROM `machines` WHERE `cluster_id` = ? ORDER BY `name`', [
      run.cluster_id,
    ]);
    if (!cluster) throw new NotFoundError(`cluster ${run.cluster_id} does not exist`);
    return { run: toWorkflow(run, steps), cluster: toCluster(cluster), machines: machines.map(toMachine) };
  }

  private stepsOf(sql: PreparedSql, runId: string): Promise<StepRow[]> {
    return sql.all<StepRow>('SELECT * FROM `workflow_steps` WHERE `run_id` = ? ORDER BY `idx`', [runId]);
  }

  async stepProgress(runId: string, idx: number, generation: number, message: string): Promise<void> {
    await this.transition([], (sql) => this.progress(sql, { call: 'progress', runId, idx, generation, message }));
  }

  private async progress(sql: PreparedSql, call: StepProgressCall): Promise<null> {
    const run = await this.currentRun(sql, call.runId, call.idx, call.generation);
    // The guarded write first: a refusal changes nothing (transitions above).
    await this.updateRun(sql, run, { updated_at: nowIso() });
    await sql.run('UPDATE `workflow_steps` SET `message` = ? WHERE `run_id` = ? AND `idx` = ?', [
      call.message.slice(0, 1024),
      call.runId,
      call.idx,
    ]);
    return null;
  }

  /**
   * Commits a step's result and effects and moves the run to its next step (or finishes it).
   * Answers the index of the next step to enqueue, or null when the run is over.
   */
  async completeStep(
    runId: string,
    idx: number,
    generation: number,
    output: unknown,
    effects: StepEffect[],
    message?: string,
  ): Promise<StepCompleted> {
    return this.transition(effects, (sql, trx) =>
      this.complete(sql, trx, { call: 'complete', runId, idx, generation, output, effects, message }),
    );
  }

  private async complete(sql: PreparedSql, trx: Knex.Transaction | undefined, call: CompleteStepCall) {
    const run = await this.currentRun(sql, call.runId, call.idx, call.generation);
    const steps = await this.stepsOf(sql, run.id);
    const finished = await this.finishStep(sql, trx, run, steps, call.output, call.effects ?? [], call.message);
    return { next: finished.status === 'Succeeded' ? null : finished.current_step };
  }

  /**
   * Completes the step as completeStep does and, in the same transaction, starts the next one for
   * `jobId` (its first attempt): the job goes on to that step without another call or job.
   */
  async advanceStep(
    runId: string,
    idx: number,
    generation: number,
    output: unknown,
    effects: StepEffect[],
    jobId: string,
    message?: string,
  ): Promise<StepAdvanced> {
    return this.transition(effects, (sql, trx) =>
      this.advance(sql, trx, { call: 'advance', runId, idx, generation, output, effects, jobId, message }),
    );
  }

  private async advance(sql: PreparedSql, trx: Knex.Transaction | undefined, call: AdvanceStepCall) {
    const run = await this.currentRun(sql, call.runId, call.idx, call.generation);
    // Read once: the next step's start answers them as this transaction leaves them.
    const steps = await this.stepsOf(sql, run.id);
    const finished = await this.finishStep(
      sql,
      trx,
      run,
      steps,
      call.output,
      call.effects ?? [],
      call.message,
      call.jobId,
    );
    if (finished.status === 'Succeeded') return { next: null, start: null };
    // The run's row already names the job (finishStep); the next step's row is marked started.
    await this.markStepStarted(sql, finished, 1, nowIso(), steps);
    return { next: finished.current_step, start: await this.stepStart(sql, finished, steps) };
  }

  /**
   * Step transitions of any runs, as one request of a wfm carries them (StepTransitionRequest):
   * those written with prepared statements alone share one transaction. A transition is refused
   * (stale, conflicting) by its guards before it changes a row, so a refused one leaves nothing to
   * undo and is answered its problem while the others commit. Anything else that fails in the
   * shared transaction (a database error, a refusal after a change) rolls it all back, and each
   * call then runs in a transaction of its own, as failures and steps with effects written through
   * knex always do. Answers in the order of the calls: a result, or the error that refused the call.
   */
  async transitions(calls: StepTransitionCall[], log: TransitionLog): Promise<StepTransitionOutcome[]> {
    const outcomes: StepTransitionOutcome[] = new Array(calls.length);
    const shared: number[] = [];
    let alone: number[] = [];
    calls.forEach((call, index) => (sharesTransaction(call) ? shared : alone).push(index));
    if (shared.length > 0) {
      try {
        await withDatabase(() =>
          preparedTransaction(this.db, async (sql) => {
            const counted = countingChanges(sql);
            for (const index of shared) {
              const before = counted.changed;
              try {
                outcomes[index] = { result: await this.perform(counted, undefined, calls[index] as SharedCall) };
              } catch (error) {
                if (!(error instanceof CxError) || counted.changed !== before) throw error;
                outcomes[index] = { error };
              }
            }
          }),
        );
      } catch (error) {
        log.warn({ err: error, calls: shared.length }, 'step transitions rolled back together; each runs again alone');
        alone = [...shared, ...alone];
      }
    }
    for (const index of alone)
      outcomes[index] = await this.alone(calls[index]!).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
    return outcomes;
  }

  private perform(sql: PreparedSql, trx: Knex.Transaction | undefined, call: SharedCall): Promise<unknown> {
    switch (call.call) {
      case 'start':
        return this.start(sql, call);
      case 'progress':
        return this.progress(sql, call);
      case 'complete':
        return this.complete(sql, trx, call);
      case 'advance':
        return this.advance(sql, trx, call);
    }
  }

  /** A call of a batch in a transaction of its own. */
  private async alone(call: StepTransitionCall): Promise<unknown> {
    if (call.call !== 'fail')
      return this.transition('effects' in call ? (call.effects ?? []) : [], (sql, trx) => this.perform(sql, trx, call));
    await this.failStep(call.runId, call.idx, call.generation, call.error);
    return null;
  }

  /**
   * One step transition's transaction: prepared statements alone, unless an effect is written
   * through knex by the module owning its rows (runs/effects.ts needsKnex).
   */
  private transition<T>(
    effects: StepEffect[],
    work: (sql: PreparedSql, trx?: Knex.Transaction) => Promise<T>,
  ): Promise<T> {
    return withDatabase(() =>
      !needsKnex(effects)
        ? preparedTransaction(this.db, (sql) => work(sql))
        : this.db.transaction(async (trx) => work(await prepared(trx), trx)),
    );
  }

  /**
   * Records the current step's output and effects and moves the run past it; answers the run row as
   * updated. `steps`: the run's steps as read in this transaction, the finished one updated in place
   * as written. `nextJob`: the job that goes on to the next step, recorded in the same write.
   */
  private async finishStep(
    sql: PreparedSql,
    trx: Knex.Transaction | undefined,
    run: RunRow,
    steps: StepRow[],
    output: unknown,
    effects: StepEffect[],
    message: string | undefined,
    nextJob?: string,
  ): Promise<RunRow> {
    const idx = run.current_step;
    const now = nowIso();
    const last = idx + 1 >= steps.length;
    // The guarded write first: a refusal changes nothing (transitions above).
    const updated = await this.updateRun(
      sql,
      run,
      last
        ? { status: 'Succeeded', current_step: idx + 1, finished_at: now, updated_at: now, error: null }
        : {
            current_step: idx + 1,
            updated_at: now,
            ...(nextJob === undefined ? {} : { status: 'Running', owner_job: nextJob }),
          },
    );
    // The step's own final word, or none: a progress message ("2/3 machines provisioned") is not true any more.
    const written = { status: 'Succeeded' as const, output: JSON.stringify(output ?? null), message: message ?? null };
    await sql.run(
      'UPDATE `workflow_steps` SET `status` = ?, `output` = ?, `message` = ?, `finished_at` = ?, `error` = NULL WHERE `run_id` = ? AND `idx` = ?',
      [written.status, written.output, written.message, now, run.id, idx],
    );
    const step = steps.find((s) => s.idx === idx);
    if (step) Object.assign(step, written, { finished_at: now, error: null });
    for (const effect of effects) await applyEffect(sql, trx, this.tenants, run.cluster_id, effect, now);
    if (last) await releaseCluster(sql, run.cluster_id, run.id, now);
    return updated;
  }

  /** Fails the step and the run; the cluster is released and marked Failed with the reason. */
  async failStep(runId: string, idx: number, generation: number, error: StepError): Promise<void> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const sql = await prepared(trx);
        const run = await this.currentRun(sql, runId, idx, generation);
        const now = nowIso();
        // Its error is the final word; the last progress ("retrying", "1/3 …") is not true any more.
        await sql.run(
          'UPDATE `workflow_steps` SET `status` = ?, `error` = ?, `message` = NULL, `finished_at` = ? WHERE `run_id` = ? AND `idx` = ?',
          ['Failed', JSON.stringify(error), now, runId, idx],
        );
        if (error.machineId)
          await setMachineCondition(trx, run.cluster_id, error.machineId, {
            reason: error.reason ?? 'Failed',
            code: error.code,
            message: error.message,
            workflowId: runId,
            at: now,
          });
        await this.updateRun(sql, run, {
          status: 'Failed',
          error: JSON.stringify(error),
          finished_at: now,
          updated_at: now,
        });
        const step = await sql.first<{ name: string }>(
          'SELECT `name` FROM `workflow_steps` WHERE `run_id` = ? AND `idx` = ?',
          [runId, idx],
        );
        const failedAt = `workflow ${run.workflow} failed at step ${step?.name ?? idx}: ${error.message}`;
        await releaseCluster(
          sql,
          run.cluster_id,
          run.id,
          now,
          LEAVES_CLUSTER_RUNNING.has(error.code)
            ? { status: 'Ready', message: `${failedAt} (the cluster runs on)` }
            : { status: 'Failed', message: failedAt },
        );
      }),
    );
  }

  async cancel(runId: string): Promise<Run> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = (await trx<RunRow>('workflow_runs').where({ id: runId }).first()) as RunRow | undefined;
        if (!run) throw new NotFoundError(`workflow ${runId} does not exist`);
        if (run.status !== 'Pending' && run.status !== 'Running')
          throw new ConflictError(
            `workflow ${runId} is ${run.status}; only Pending or Running workflows can be cancelled`,
            'CX_WORKFLOW_STATE',
          );
        const now = nowIso();
        await trx('workflow_steps')
          .where({ run_id: runId })
          .whereIn('status', ['Pending', 'Running'])
          .where('idx', '>=', run.current_step)
          .update({ status: 'Cancelled' });
        const sql = await prepared(trx);
        await this.updateRun(sql, run, {
          status: 'Cancelled',
          finished_at: now,
          updated_at: now,
          error: JSON.stringify({ code: 'CX_CANCELLED', message: 'cancelled by a user' }),
        });
        await releaseCluster(sql, run.cluster_id, run.id, now, {
          status: 'Failed',
          message: `workflow ${run.workflow} was cancelled; retry it or delete the cluster`,
        });
      }),
    );
    return this.get(runId);
  }

  /** Resumes a Failed or Cancelled run from the step where it stopped, under a new generation. */
  async retry(runId: string): Promise<Run> {
    await withDatabase(() =>
      this.db.transaction(async (trx) => {
        const run = (await trx<RunRow>('workflow_runs').where({ id: runId }).first()) as RunRow | undefined;
        if (!run) throw new NotFoundError(`workflow ${runId} does not exist`);
        if (run.status !== 'Failed' && run.status !== 'Cancelled')
          throw new ConflictError(
            `workflow ${runId} is ${run.status}; only Failed or Cancelled workflows can be retried`,
            'CX_WORKFLOW_STATE',
          );
        const cluster = (await trx<ClusterRow>('clusters').where({ id: run.cluster_id }).first()) as
          ClusterRow | undefined;
        if (!cluster) throw new ConflictError(`the cluster of workflow ${runId} no longer exists`, 'CX_WORKFLOW_STATE');
        const now = nowIso();
        const input = JSON.parse(run.input) as { clusterStatus?: ClusterStatus };
        await lockCluster(await prepared(trx), cluster, runId, input.clusterStatus ?? 'Updating', now);
        await trx('workflow_steps')
          .where({ run_id: runId })
          .where('idx', '>=', run.current_step)
          .update({ status: 'Pending', error: null, started_at: null, finished_at: null });
        await this.updateRun(await prepared(trx), run, {
          status: 'Pending',
          generation: run.generation + 1,
          owner_job: null,
          error: null,
          finished_at: null,
          updated_at: now,
        });
      }),
    );
    return this.get(runId);
  }

  /** The run, if `idx` of `generation` is still its current step; a stale job gets a conflict. */
  private async currentRun(sql: PreparedSql, runId: string, idx: number, generation: number): Promise<RunRow> {
    const run = await sql.first<RunRow>('SELECT * FROM `workflow_runs` WHERE `id` = ?', [runId]);
    if (!run) throw new NotFoundError(`workflow ${runId} does not exist`);
    if (
      (run.status !== 'Running' && run.status !== 'Pending') ||
      run.current_step !== idx ||
      run.generation !== generation
    ) {
      throw staleStep(run, idx, generation);
    }
    return run;
  }

  /** Optimistic update of a run row: fails if anyone changed it since it was read. Answers the row as updated. */
  private async updateRun(
    sql: PreparedSql,
    run: RunRow,
    changes: Partial<Record<keyof RunRow, SqlValue>>,
  ): Promise<RunRow> {
    const set = setClause({ ...changes, version: run.version + 1 });
    const updated = await sql.run(`UPDATE \`workflow_runs\` SET ${set.sql} WHERE \`id\` = ? AND \`version\` = ?`, [
      ...set.values,
      run.id,
      run.version,
    ]);
    if (updated !== 1)
      throw new ConflictError(`workflow ${run.id} changed concurrently`, 'CX_VERSION_CONFLICT', { retryable: true });
    return { ...run, ...changes, version: run.version + 1 } as RunRow;
  }
}

function staleStep(run: RunRow, idx: number, generation: number): CxError {
  return new ConflictError(
    `workflow ${run.id} is ${run.status} at step ${run.current_step} (generation ${run.generation}); step ${idx} of generation ${generation} is stale`,
    'CX_WORKFLOW_STATE',
    { details: { workflowStatus: run.status, currentStep: run.current_step, generation: run.generation } },
  );
}

/** Where a batch says that it was rolled back as a whole. */
export interface TransitionLog {
  warn(details: object, message: string): void;
}

/** A call that can share a batch's transaction: written with prepared statements alone (a failure is not). */
type SharedCall = Exclude<StepTransitionCall, { call: 'fail' }>;
function sharesTransaction(call: StepTransitionCall): call is SharedCall {
  if (call.call === 'fail') return false;
  return call.call === 'start' || call.call === 'progress' || !needsKnex(call.effects ?? []);
}

/** `sql`, counting the rows its writes changed (`changed`): a refusal that changed none leaves nothing to undo. */
function countingChanges(sql: PreparedSql): PreparedSql & { changed: number } {
  const counted = {
    changed: 0,
    all: sql.all.bind(sql),
    first: sql.first.bind(sql),
    run: async (text: string, params: SqlValue[]): Promise<number> => {
      const rows = await sql.run(text, params);
      counted.changed += rows;
      return rows;
    },
  };
  return counted;
}
