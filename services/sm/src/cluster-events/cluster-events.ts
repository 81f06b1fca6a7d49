/**
 * A cluster's feed of what happened and why, read from what sm records already: its workflow runs
 * (each started, each step finished, each end) and the audit entries about it that started no
 * workflow of their own (refused calls, a remediation cx decided on, with its reason). Nothing is
 * written for it: an event is derived from a row, and its id from the row's key, so the same event
 * reads the same every time.
 *
 * Pages are by (at, id), newest first. Each source gives its own newest candidates before the
 * cursor and they are merged, so no source is read further than one page (and the rows of the
 * cursor's own instant).
 */
import type { Knex } from 'knex';
import type { ClusterEvent, Page } from '@cx/api-schemas';
import { InputError } from '@cx/errors';
import type { ClusterEventQuery } from '@cx/sm-contract';
import { clusterRow } from '../clusters/rows.js';
import { withDatabase } from '../db/database.js';
import { afterCursor, encodeCursor } from '../db/pagination.js';

const DEFAULT_LIMIT = 50;
/** Actors of the audit log and runs that are cx itself rather than a user (`cx:health`…). */
const SYSTEM_ACTOR = /^cx:/;

interface RunRow {
  id: string;
  workflow: string;
  status: string;
  input: string;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  actor: string | null;
  created_by: string;
}
interface StepRow {
  run_id: string;
  idx: number;
  name: string;
  status: string;
  message: string | null;
  error: string | null;
  finished_at: string;
  workflow: string;
}
interface AuditRow {
  id: number | string;
  at: string;
  actor: string;
  action: string;
  outcome: string;
  details: string | null;
}

/** Where a page starts: strictly before (`before`, newest first) or at/after (`since`, oldest first). */
type Bound = { before: { at: string; id: string } } | { since: string };

export class ClusterEvents {
  constructor(private readonly db: Knex) {}

  async list(clusterId: string, query: ClusterEventQuery): Promise<Page<ClusterEvent>> {
    await clusterRow(this.db, clusterId);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const bound: Bound | null =
      query.since !== undefined
        ? { since: new Date(query.since).toISOString() }
        : query.cursor !== undefined
          ? { before: position(afterCursor(query.cursor)!) }
          : null;
    const newestFirst = !(bound && 'since' in bound);
    const candidates = (
      await Promise.all([
        this.runStarts(clusterId, bound, limit),
        this.runEnds(clusterId, bound, limit),
        this.steps(clusterId, bound, limit),
        this.audit(clusterId, bound, limit),
      ])
    ).flat();
    const inBound = candidates.filter((event) => {
      if (!bound) return true;
      if ('since' in bound) return event.at >= bound.since;
      return compare(event, bound.before) < 0;
    });
    inBound.sort((a, b) => (newestFirst ? compare(b, a) : compare(a, b)));
    const page = inBound.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page, nextCursor: inBound.length > limit && last ? encodeCursor(`${last.at}|${last.id}`) : null };
  }

  /**
   * The candidates of one source: its rows bounded as the page asks on `column`, the first
   * `limit + 1` in the page's order, and (newest first) every row of the cursor's own instant,
   * which the merge then cuts by id: however many rows share that instant, none is skipped.
   */
  private async bounded<R>(
    query: () => Knex.QueryBuilder,
    column: string,
    bound: Bound | null,
    limit: number,
  ): Promise<R[]> {
    return withDatabase(async () => {
      if (bound && 'since' in bound)
        return (await query()
          .where(column, '>=', bound.since)
          .orderBy(column, 'asc')
          .limit(limit + 1)) as R[];
      const older = query()
        .orderBy(column, 'desc')
        .limit(limit + 1);
      if (!bound) return (await older) as R[];
      const [before, same] = await Promise.all([
        older.where(column, '<', bound.before.at),
        query().where(column, '=', bound.before.at),
      ]);
      return [...(same as R[]), ...(before as R[])];
    });
  }

  private runs(clusterId: string): Knex.QueryBuilder {
    return this.db('workflow_runs')
      .leftJoin('users', 'users.id', 'workflow_runs.created_by')
      .where('workflow_runs.cluster_id', clusterId)
      .select(
        'workflow_runs.id',
        'workflow_runs.workflow',
        'workflow_runs.status',
        'workflow_runs.input',
        'workflow_runs.error',
        'workflow_runs.created_at',
        'workflow_runs.finished_at',
        'workflow_runs.created_by',
        'users.username as actor',
      );
  }

  private async runStarts(clusterId: string, bound: Bound | null, limit: number): Promise<ClusterEvent[]> {
    const rows = await this.bounded<RunRow>(() => this.runs(clusterId), 'workflow_runs.created_at', bound, limit);
    return rows.map((run) => {
      const actor = run.actor ?? run.created_by;
      const reason = parseObject(run.input)['reason'];
      return event({
        id: `${run.id}.started`,
        at: run.created_at,
        type: 'WorkflowStarted',
        message: `workflow ${run.workflow} started by ${actor}`,
        reason: typeof reason === 'string' ? reason : null,
        actor,
        workflowId: run.id,
        workflow: run.workflow,
      });
    });
  }

  private async runEnds(clusterId: string, bound: Bound | null, limit: number): Promise<ClusterEvent[]> {
    const rows = await this.bounded<RunRow>(
      () => this.runs(clusterId).whereNotNull('workflow_runs.finished_at'),
      'workflow_runs.finished_at',
      bound,
      limit,
    );
    return rows.map((run) => {
      const error = run.error ? parseObject(run.error) : {};
      const code = typeof error['code'] === 'string' ? error['code'] : null;
      const ended =
        run.status === 'Succeeded'
          ? { type: 'WorkflowSucceeded' as const, message: `workflow ${run.workflow} succeeded` }
          : run.status === 'Cancelled'
            ? { type: 'WorkflowCancelled' as const, message: `workflow ${run.workflow} was cancelled` }
            : {
                type: 'WorkflowFailed' as const,
                message: `workflow ${run.workflow} failed${typeof error['message'] === 'string' ? `: ${error['message']}` : ''}`,
              };
      return event({
        id: `${run.id}.ended`,
        at: run.finished_at!,
        ...ended,
        reason: run.status === 'Succeeded' ? null : code,
        actor: run.actor ?? run.created_by,
        workflowId: run.id,
        workflow: run.workflow,
      });
    });
  }

  private async steps(clusterId: string, bound: Bound | null, limit: number): Promise<ClusterEvent[]> {
    const query = (): Knex.QueryBuilder =>
      this.db('workflow_steps')
        .join('workflow_runs', 'workflow_runs.id', 'workflow_steps.run_id')
        .where('workflow_runs.cluster_id', clusterId)
        .whereIn('workflow_steps.status', ['Succeeded', 'Failed'])
        .whereNotNull('workflow_steps.finished_at')
        .select(
          'workflow_steps.run_id',
          'workflow_steps.idx',
          'workflow_steps.name',
          'workflow_steps.status',
          'workflow_steps.message',
          'workflow_steps.error',
          'workflow_steps.finished_at',
          'workflow_runs.workflow',
        );
    const rows = await this.bounded<StepRow>(query, 'workflow_steps.finished_at', bound, limit);
    return rows.map((step) => {
      const failed = step.status === 'Failed';
      const error = step.error ? parseObject(step.error) : {};
      const why = typeof error['reason'] === 'string' ? error['reason'] : error['code'];
      const said = failed ? error['message'] : step.message;
      return event({
        id: `${step.run_id}.${step.idx}`,
        at: step.finished_at,
        type: failed ? 'StepFailed' : 'StepSucceeded',
        message: `step ${step.name} of ${step.workflow} ${failed ? 'failed' : 'done'}${typeof said === 'string' && said ? `: ${said}` : ''}`,
        reason: failed && typeof why === 'string' ? why : null,
        workflowId: step.run_id,
        workflow: step.workflow,
        step: step.name,
      });
    });
  }

  /** Audit entries about the cluster that did not start a workflow (those are told by the run's own events). */
  private async audit(clusterId: string, bound: Bound | null, limit: number): Promise<ClusterEvent[]> {
    const query = (): Knex.QueryBuilder =>
      this.db('audit_log')
        .where({ target_kind: 'cluster', target_id: clusterId })
        .select('id', 'at', 'actor', 'action', 'outcome', 'details');
    const rows = await this.bounded<AuditRow>(query, 'at', bound, limit);
    return rows.flatMap((row) => {
      const details = row.details ? parseObject(row.details) : {};
      const workflowId = typeof details['workflowId'] === 'string' ? details['workflowId'] : null;
      // A user's call that started a workflow is the run's WorkflowStarted; cx's own decisions keep their reason.
      if (workflowId && !SYSTEM_ACTOR.test(row.actor)) return [];
      const reason = typeof details['reason'] === 'string' ? details['reason'] : null;
      const status = typeof details['status'] === 'number' ? ` (${details['status']})` : '';
      return [
        event({
          id: `audit.${row.id}`,
          at: row.at,
          type: 'Audit',
          message: `${row.action} by ${row.actor}: ${row.outcome}${status}${typeof details['machine'] === 'string' ? `, node ${details['machine']}` : ''}`,
          reason,
          actor: row.actor,
          workflowId,
          action: row.action,
        }),
      ];
    });
  }
}

/** An event with the members it does not have set to null (every member is present on the wire). */
function event(e: Pick<ClusterEvent, 'id' | 'at' | 'type' | 'message'> & Partial<ClusterEvent>): ClusterEvent {
  return {
    reason: null,
    actor: null,
    workflowId: null,
    workflow: null,
    step: null,
    action: null,
    ...e,
  };
}

function compare(a: { at: string; id: string }, b: { at: string; id: string }): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function position(cursor: string): { at: string; id: string } {
  const [at, id] = cursor.split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)))
    throw new InputError('cursor is not one this API returned', [
      { field: 'querystring.cursor', message: 'is invalid' },
    ]);
  return { at, id };
}

function parseObject(json: string): Record<string, unknown> {
  try {
    const value = JSON.parse(json) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
