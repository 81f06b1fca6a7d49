/**
 * The durable workflow engine. A run lives in SQL (through sm); its steps run in BullMQ jobs whose
 * ids are `<run>.<step>.<generation>`. A step answers done (its output and effects are committed by
 * sm in one transaction, which also starts the next step for the same job, and the job goes on to
 * it), wait (the job is delayed and runs the step again) or throws (retried with backoff when the
 * error is retryable, otherwise the run fails); a job that has failed once gives each following
 * step a job of its own. The sddc operations a step starts are children of its job: a step waiting
 * for them parks its job until sddc has finished the last one, instead of polling. sm records which
 * job started a run's step; a reconciler re-enqueues every active run whose job is not live, so a
 * process killed at any instant loses nothing, and the guarded transitions and deterministic ids
 * mean nothing runs twice.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, Queue, WaitingChildrenError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { asCxError, CxError, DependencyUnavailableError, isErrorCode } from '@cx/errors';
import {
  FINISHED_JOB_RETENTION,
  SDDC_OPERATION_QUEUE,
  SDDC_OPERATION_RETRY,
  WORKFLOW_STEP_QUEUE,
  parseFailedReason,
  sddcOperationJobId,
  workflowStepJobId,
  type SddcOperation,
  type WorkflowStepJob,
} from '@cx/queue-contracts';
import { throttled } from '@cx/service-kit';
import type { Cluster, ProviderInfo } from '@cx/api-schemas';
import type { ActiveRun, Machine, Run, SmClient, StepEffect, StepStart } from '@cx/sm-contract';

/**
 * What a step answers. "Not ready yet" is a wait, not an error. `O` is the output a done step
 * records, which later steps read typed (workflows/define.ts).
 */
export type StepResult<O = unknown> =
  | { kind: 'done'; output?: O; effects?: StepEffect[]; message?: string }
  | { kind: 'wait'; afterMs: number; message?: string; nextPoll?: boolean };

/**
 * `message`: what the step did, in words that stay true once it is over (`3/3 machines
 * provisioned`); without one, the finished step shows no message rather than its last progress.
 */
export const done = <O = undefined>(output?: O, effects: StepEffect[] = [], message?: string): StepResult<O> => ({
  kind: 'done',
  output,
  effects,
  ...(message ? { message } : {}),
});
/** A wait records no output, so it fits a step of any output type. */
export const wait = (afterMs: number, message?: string, nextPoll = false): StepResult<never> => ({
  kind: 'wait',
  afterMs,
  nextPoll,
  ...(message ? { message } : {}),
});

/** The outcome of an sddc operation a step started. */
/** `finishedAt`: when the operation finished (epoch ms), when known. */
export type OperationState<T> =
  { state: 'done'; result: T; finishedAt?: number } | { state: 'pending' } | { state: 'failed'; error: CxError };

export interface StepContext {
  run: Run;
  /** The run's cluster and its machines as they were when the step started. */
  cluster: Cluster;
  machines: Machine[];
  sm: SmClient;
  /** How many times this step has polled (grows on `wait(…, nextPoll=true)`); part of read-operation ids. */
  poll: number;
  /**
   * Starts (once) and observes an sddc operation identified by this step and `subject`; calling it
   * again, even after a crash, observes the same operation instead of starting another.
   */
  operation<T>(subject: string, operation: SddcOperation): Promise<OperationState<T>>;
  deadlines: StepDeadlines;
  log: Logger;
  /** The run's provider as sddc advertises it (its capabilities), or undefined while no sddc does. */
  provider(): Promise<ProviderInfo | undefined>;
}

export interface StepDefinition {
  name: string;
  /**
   * Whether a run started with this input goes through the step; absent: always. Decided once, when
   * the run starts (workflows/define.ts `runSteps`): sm stores the run's own step list, which is what
   * the engine follows.
   */
  when?(input: Record<string, unknown>): boolean;
  run(ctx: StepContext): Promise<StepResult>;
}

export interface WorkflowDefinition {
  name: string;
  version: number;
  steps: StepDefinition[];
}

interface StepJobData extends WorkflowStepJob {
  /** Read operations started so far by this step (see StepContext.poll). */
  poll?: number;
  /** Waits so far; the first ones are short so that quick infrastructure is not slowed down. */
  waits?: number;
  /** The progress message last recorded, so that an unchanged one is not written again. */
  progress?: string;
}

/** First wait of a step; each further wait doubles, up to the step's own `afterMs`. */
const FIRST_WAIT_MS = 10;
/** States of a job that will still run (or is running). */
const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
/** Active runs the reconciler reads from sm at once. */
const RECONCILE_PAGE = 500;

export interface EngineOptions {
  /** For the worker: blocking commands that wait through a reconnect. */
  connection: Redis;
  /** For enqueueing from requests: fails fast when Redis is down. */
  producer: Redis;
  prefix: string;
  sm: SmClient;
  logger: Logger;
  metrics: Registry;
  concurrency: number;
  stepAttempts: number;
  lockDurationMs: number;
  reconcileIntervalMs: number;
  /** Deadlines steps enforce (configuration `workflows.*`). */
  deadlines: StepDeadlines;
  /** The providers sddc advertises; absent: steps see no provider. */
  providers?: () => Promise<ProviderInfo[]>;
}

export interface StepDeadlines {
  /** How long new machines may take to register Ready nodes. */
  nodesReadyMs: number;
}

export class WorkflowEngine {
  private readonly definitions = new Map<string, WorkflowDefinition>();
  private readonly steps: Queue<StepJobData>;
  private readonly operations: Queue<SddcOperation>;
  private readonly worker: Worker<StepJobData>;
  /** Completion events of sddc operations, for the operations run outside workflows; opened at the first. */
  private reconcileTimer: NodeJS.Timeout | undefined;
  private readonly stepsRun: Counter;
  private readonly stepDuration: Histogram;

  constructor(private readonly options: EngineOptions) {
    const { connection, producer, prefix } = options;
    this.steps = new Queue<StepJobData>(WORKFLOW_STEP_QUEUE, { connection: producer, prefix });
    this.operations = new Queue<SddcOperation>(SDDC_OPERATION_QUEUE, { connection: producer, prefix });
    this.worker = new Worker<StepJobData>(WORKFLOW_STEP_QUEUE, (job, token) => this.process(job, token), {
      connection,
      prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.lockDurationMs,
      autorun: false,
    });
    this.worker.on(
      'error',
      throttled((error, repeats) => options.logger.error({ err: error, repeats }, 'workflow worker error')),
    );
    this.stepsRun = new Counter({
      name: 'cx_workflow_steps_total',
      help: 'Workflow step executions by workflow, step and outcome',
      labelNames: ['workflow', 'step', 'outcome'],
      registers: [options.metrics],
    });
    this.stepDuration = new Histogram({
      name: 'cx_workflow_step_duration_seconds',
      help: 'Time of one step execution',
      labelNames: ['workflow', 'step'],
      registers: [options.metrics],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    });
  }

  register(definition: WorkflowDefinition): void {
    this.definitions.set(definition.name, definition);
  }

  definition(name: string): WorkflowDefinition {
    const found = this.definitions.get(name);
    if (!found) throw new Error(`unknown workflow ${name}`);
    return found;
  }

  start(): void {
    void this.worker.run();
    const tick = (): void => {
      this.reconcile()
        .catch((error: unknown) =>
          this.options.logger.warn({ err: error }, 'reconcile failed; retrying at the next interval'),
        )
        .finally(() => {
          this.reconcileTimer = setTimeout(tick, this.options.reconcileIntervalMs);
          this.reconcileTimer.unref();
        });
    };
    this.reconcileTimer = setTimeout(tick, Math.min(1_000, this.options.reconcileIntervalMs));
    this.reconcileTimer.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.reconcileTimer);
    await this.worker.close();
    await Promise.all([this.steps.close(), this.operations.close()]);
  }

  /**
   * Runs one sddc operation outside any workflow (a credential check, a node listing) and waits for
   * its answer. The answer is read from the job itself, at growing intervals, rather than from
   * QueueEvents: those only see events after their first stream read, so an answer that came
   * between the job's creation and that read was lost (CI: list-nodes "no sddc answered"). The job
   * is removed once its answer is read (or it times out), so a sealed secret in it does not linger;
   * a minute at most if this process dies first.
   */
  async runOperationNow<T>(operation: SddcOperation, timeoutMs: number): Promise<T> {
    const jobId = `now.${randomUUID()}`;
    await this.operations.add(operation.op, operation, {
      jobId,
      attempts: 1,
      removeOnComplete: { age: 60 },
      removeOnFail: { age: 60 },
    });
    try {
      const deadline = Date.now() + timeoutMs;
      for (let pause = 10; Date.now() < deadline; pause = Math.min(pause * 2, 500)) {
        await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
        const job = await this.operations.getJob(jobId);
        const outcome = job && (await finishedOutcome<T>(job));
        if (!outcome) continue;
        if ('error' in outcome) throw outcome.error;
        return outcome.result;
      }
      throw new DependencyUnavailableError(
        `no sddc answered ${operation.op} within ${Math.round(timeoutMs / 1000)} s; check that an sddc serving provider ${'provider' in operation ? operation.provider : ''} is running`,
      );
    } finally {
      await this.operations.remove(jobId).catch(() => undefined);
    }
  }

  /** Enqueues the job of a run's step; a job with the same id that exists already is left alone. */
  async enqueue(step: WorkflowStepJob): Promise<void> {
    await this.steps.add(
      'step',
      { runId: step.runId, stepIndex: step.stepIndex, generation: step.generation },
      {
        jobId: workflowStepJobId(step),
        attempts: this.options.stepAttempts,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: FINISHED_JOB_RETENTION,
        removeOnFail: FINISHED_JOB_RETENTION,
      },
    );
  }

  /**
   * Finds active runs without a live job for their current step and enqueues one. One wfm replica
   * at a time does it (a lease in Redis), so that two never replace the same job.
   */
  async reconcile(): Promise<number> {
    const lease = await this.options.producer.set(
      `${this.options.prefix}:reconciler-lease`,
      String(process.pid),
      'PX',
      this.options.reconcileIntervalMs,
      'NX',
    );
    if (lease !== 'OK') return 0;
    let repaired = 0;
    let after: string | undefined;
    // A run that changed within the last interval is being worked on; leave it alone.
    const idleSince = new Date(Date.now() - this.options.reconcileIntervalMs).toISOString();
    for (;;) {
      const page = await this.options.sm.activeRuns(RECONCILE_PAGE, idleSince, after);
      for (const run of page) repaired += await this.reconcileRun(run);
      if (page.length < RECONCILE_PAGE) return repaired;
      after = page[page.length - 1]!.id;
    }
  }

  private async reconcileRun(run: ActiveRun): Promise<number> {
    const step: WorkflowStepJob = { runId: run.id, stepIndex: run.currentStep, generation: run.generation };
    const stepJobId = workflowStepJobId(step);
    // The job named after the current step, or the one that started it (a job goes on from step to
    // step while they are done at once): either one live means the run is being worked on.
    const candidates = [stepJobId, ...(run.ownerJob && run.ownerJob !== stepJobId ? [run.ownerJob] : [])];
    const states: string[] = [];
    for (const id of candidates) {
      const job = await this.steps.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (LIVE_JOB_STATES.has(state)) return 0;
      states.push(state);
    }
    // The job may have finished its step since the run was listed: only a run still at this step needs one.
    const current = await this.options.sm.getRun(run.id);
    if (
      !['Pending', 'Running'].includes(current.status) ||
      current.currentStep !== run.currentStep ||
      current.generation !== run.generation
    )
      return 0;
    const finished = await this.steps.getJob(stepJobId);
    if (finished) await finished.remove();
    await this.enqueue(step);
    this.options.logger.info(
      { workflowId: run.id, step: run.currentStep, generation: run.generation, jobStates: states },
      'reconciler re-enqueued a workflow step',
    );
    return 1;
  }

  private async process(job: Job<StepJobData>, token: string | undefined): Promise<unknown> {
    const { runId, generation } = job.data;
    let stepIndex = job.data.stepIndex;
    let attempt = job.attemptsMade + 1;
    let started: StepStart;
    try {
      started = await this.options.sm.startStep(runId, stepIndex, generation, attempt, job.id);
    } catch (error) {
      const cx = asCxError(error);
      if (cx.code === 'CX_WORKFLOW_STATE' || cx.code === 'CX_NOT_FOUND') {
        this.options.logger.debug({ workflowId: runId, step: stepIndex, reason: cx.message }, 'stale step job ignored');
        return { stale: true };
      }
      throw error; // sm unreachable: BullMQ retries the job
    }
    // The job runs the run's steps one after another while they are done at once; a step that
    // waits or fails keeps the job (delayed or retried) at that step.
    for (;;) {
      const outcome = await this.runStep(job, token, started, stepIndex, attempt);
      if (outcome.kind !== 'advanced') return outcome.value;
      started = outcome.start;
      stepIndex = outcome.next;
      attempt = 1;
    }
  }

  /**
   * Runs one step of the job's run. A done step is committed; with the job's first attempt (no
   * failure so far) the job goes on to the next step in the same call to sm (`advanced`),
   * otherwise the next step gets its own job. A wait delays the job, a retryable failure throws
   * for BullMQ to retry it; in both the job's data names the step, for its next run.
   */
  private async runStep(
    job: Job<StepJobData>,
    token: string | undefined,
    started: StepStart,
    stepIndex: number,
    attempt: number,
  ): Promise<{ kind: 'advanced'; next: number; start: StepStart } | { kind: 'finished'; value: unknown }> {
    const { runId, generation } = job.data;
    const log = this.options.logger.child({ workflowId: runId, step: stepIndex, generation, attempt });
    const { run } = started;
    const definition = this.definition(run.workflow);
    // By name, from the run's own list: a run started by an older version of the workflow keeps its steps.
    const stepName = run.steps[stepIndex]?.name;
    const step = definition.steps.find((candidate) => candidate.name === stepName);
    if (!step) throw new Error(`workflow ${run.workflow} has no step ${stepName ?? stepIndex}`);
    // The job's data follows the step it runs (poll and waits are the step's own).
    const atThisStep = job.data.stepIndex === stepIndex;
    const data: StepJobData = atThisStep ? job.data : { runId, stepIndex, generation };
    const labels = { workflow: run.workflow, step: step.name };
    const stopTimer = this.stepDuration.startTimer(labels);
    const poll = data.poll ?? 0;
    const stepJob: WorkflowStepJob = { runId, stepIndex, generation };
    // Set when the step left an operation pending as a child of this job: the job then waits for it.
    const children = { pending: false };
    let result: StepResult;
    try {
      const provider = async (): Promise<ProviderInfo | undefined> =>
        (await this.options.providers?.())?.find((p) => p.name === started.cluster.provider);
      result = await step.run({
        ...started,
        sm: this.options.sm,
        poll,
        log,
        deadlines: this.options.deadlines,
        provider,
        operation: (subject, operation) => this.operation(stepJob, subject, operation, job, children),
      });
    } catch (error) {
      stopTimer();
      const cx = asCxError(error);
      if (cx.retryable && job.attemptsMade + 1 < this.options.stepAttempts) {
        this.stepsRun.inc({ ...labels, outcome: 'retry' });
        log.warn({ code: cx.code, err: cx.message }, 'step failed; it will be retried');
        await this.options.sm
          .stepProgress(runId, stepIndex, generation, `attempt ${attempt} failed (${cx.code}: ${cx.message}); retrying`)
          .catch(() => undefined);
        if (!atThisStep) await job.updateData(data);
        throw error;
      }
      this.stepsRun.inc({ ...labels, outcome: 'failure' });
      log.error({ code: cx.code, err: cx.message }, 'step failed; the workflow fails');
      const reason = cx.details?.['reason'];
      const machineId = cx.details?.['machineId'];
      await this.options.sm.failStep(runId, stepIndex, generation, {
        code: cx.code,
        message: cx.message,
        retryable: cx.retryable,
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(typeof machineId === 'string' ? { machineId } : {}),
      });
      return { kind: 'finished', value: { failed: cx.code } };
    }
    stopTimer();
    if (result.kind === 'wait') {
      this.stepsRun.inc({ ...labels, outcome: 'wait' });
      if (result.message && result.message !== data.progress)
        await this.options.sm.stepProgress(runId, stepIndex, generation, result.message);
      const waits = data.waits ?? 0;
      await job.updateData({
        ...data,
        poll: result.nextPoll ? poll + 1 : poll,
        waits: waits + 1,
        ...(result.message ? { progress: result.message } : {}),
      });
      // Waiting for its operations: sddc's completion of the last one puts the job back in the
      // queue (BullMQ's parent and children), with no polling meanwhile. false: they have all
      // finished already, and the step runs again at once.
      if (children.pending && token !== undefined && (await job.moveToWaitingChildren(token)))
        throw new WaitingChildrenError();
      const delay = children.pending ? 0 : Math.min(result.afterMs, FIRST_WAIT_MS * 2 ** waits);
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
    this.stepsRun.inc({ ...labels, outcome: 'done' });
    if (job.attemptsMade === 0 && job.id !== undefined) {
      const { next, start } = await this.options.sm.advanceStep(
        runId,
        stepIndex,
        generation,
        result.output ?? null,
        result.effects ?? [],
        job.id,
        result.message,
      );
      log.info({ name: step.name }, 'step done');
      if (next === null || start === null) return { kind: 'finished', value: { done: true } };
      return { kind: 'advanced', next, start };
    }
    const { next } = await this.options.sm.completeStep(
      runId,
      stepIndex,
      generation,
      result.output ?? null,
      result.effects ?? [],
      result.message,
    );
    log.info({ name: step.name }, 'step done');
    if (next !== null) await this.enqueue({ runId, stepIndex: next, generation });
    return { kind: 'finished', value: { done: true } };
  }

  /**
   * A step's operation; Redis failing under it is a retryable CX_DEPENDENCY_UNAVAILABLE (the step
   * runs again once Redis is back), not an internal error that fails the run: a job that went on
   * to its next step can be running when Redis goes away.
   */
  private async operation<T>(
    step: WorkflowStepJob,
    subject: string,
    operation: SddcOperation,
    parent: Job<StepJobData>,
    children: { pending: boolean },
  ): Promise<OperationState<T>> {
    try {
      return await this.observeOperation<T>(step, subject, operation, parent, children);
    } catch (error) {
      if (error instanceof CxError) throw error;
      throw new DependencyUnavailableError(
        `Redis did not answer while the step started or read its operation (${(error as Error).message}); check redis.url (CX_REDIS_URL) and that Redis runs`,
        { cause: error },
      );
    }
  }

  /**
   * The operation's job is a child of the step's job (`parent`), so that its end wakes the step:
   * a pending one sets `children.pending`, and the step's job then waits for its children instead
   * of polling. A job that already existed with another parent (a step job lost and replaced) is
   * observed by polling, as the step's waits say.
   */
  private async observeOperation<T>(
    step: WorkflowStepJob,
    subject: string,
    operation: SddcOperation,
    parent: Job<StepJobData>,
    children: { pending: boolean },
  ): Promise<OperationState<T>> {
    const jobId = sddcOperationJobId(step, subject);
    const parentKey = parent.id === undefined ? undefined : `${parent.queueQualifiedName}:${parent.id}`;
    const job = await this.operations.getJob(jobId);
    if (!job) {
      // Just added, so pending: no need to ask its state (one Redis round trip per operation less).
      await this.operations.add(operation.op, operation, {
        jobId,
        ...SDDC_OPERATION_RETRY,
        removeOnComplete: FINISHED_JOB_RETENTION,
        removeOnFail: FINISHED_JOB_RETENTION,
        ...(parent.id === undefined
          ? {}
          : {
              parent: { id: parent.id, queue: parent.queueQualifiedName },
              // A failed operation wakes the step too, which reads the failure.
              ignoreDependencyOnFailure: true,
            }),
      });
      if (parentKey) children.pending = true;
      return { state: 'pending' };
    }
    const outcome = await finishedOutcome<T>(job);
    if (!outcome) {
      if (job.parentKey === parentKey) children.pending = true;
      return { state: 'pending' };
    }
    if ('result' in outcome)
      return { state: 'done', result: outcome.result, ...(job.finishedOn ? { finishedAt: job.finishedOn } : {}) };
    // The operation used up its own retries; if the error is transient the step is retried, and
    // its next attempt must start the operation afresh rather than observe this failure again.
    if (outcome.error.retryable) await job.remove();
    return { state: 'failed', error: outcome.error };
  }
}

/**
 * An operation job's answer once it has finished, undefined before. Only a finished job has
 * finishedOn (a retry between attempts has not), so its state is asked only then; finishedOn is
 * written with the return value or the failed reason in one script, so both are here.
 */
async function finishedOutcome<T>(job: Job): Promise<{ result: T } | { error: CxError } | undefined> {
  if (!job.finishedOn) return undefined;
  const state = await job.getState();
  if (state === 'completed') return { result: job.returnvalue as T };
  if (state === 'failed') return { error: errorFromFailedReason(job.failedReason) };
  return undefined;
}

/** sddc writes the error's code, message, retryability and details into the failed reason. */
export function errorFromFailedReason(reason: string | undefined): CxError {
  const failure = parseFailedReason(reason ?? '');
  if (failure && isErrorCode(failure.code)) {
    return new CxError(failure.code, failure.message, {
      ...(failure.details ? { details: failure.details } : {}),
      ...(failure.retryable === undefined ? {} : { retryable: failure.retryable }),
    });
  }
  return new CxError('CX_PROVIDER_ERROR', reason ?? 'the provider operation failed', { retryable: false });
}
