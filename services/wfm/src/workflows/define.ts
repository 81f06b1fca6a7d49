/**
 * A workflow declared whole: its name, version, typed input and every step, optional ones included
 * (`when`), in the order a run goes through them. Steps see the run's input typed and read what an
 * earlier step recorded through that step (`ctx.output(planStep)`), so that neither an input nor an
 * output is read by cast or by index. What the engine registers is the plain WorkflowDefinition
 * this makes; the engine itself stays untyped.
 */
import type { StepContext, StepDefinition, StepResult, WorkflowDefinition } from '../engine.js';
import type { Run } from '@cx/sm-contract';

/** What a step of a workflow with input `I` sees. */
export interface WorkflowContext<I> extends StepContext {
  /** The run's input, as the route or worker that started the run built it. */
  input: I;
  /**
   * What an earlier step of this run recorded as its output; undefined while it has not run, or
   * when the run does not go through it (left out by its `when`, or started by an older version).
   */
  output<O>(step: Step<never, O>): O | undefined;
}

/** The input of a workflow that needs none: the run's target (its cluster) is all it works on. */
export type NoInput = Record<string, never>;

/** A step whose run gets input `I` and whose done answer records output `O`. */
export interface Step<I = unknown, O = unknown> {
  name: string;
  /** Whether a run started with this input goes through the step at all; absent: always. */
  when?: (input: I) => boolean;
  run(ctx: WorkflowContext<I>): Promise<StepResult<O>>;
}

/** Declares a step on its own, for a workflow to list and later steps to read (`ctx.output(step)`). */
export function defineStep<I = unknown, O = unknown>(step: Step<I, O>): Step<I, O> {
  return step;
}

/**
 * Declares a workflow. A new step list (steps added, removed or reordered) is a new version: runs
 * started before keep the step list they were started with and find their steps by name.
 */
export function defineWorkflow<I>(definition: {
  name: string;
  version: number;
  steps: ReadonlyArray<Step<I, unknown>>;
}): WorkflowDefinition {
  const steps = definition.steps.map((step): StepDefinition => {
    const { name, when } = step;
    return {
      name,
      ...(when ? { when: (input) => when(inputOf<I>(input)) } : {}),
      run: (ctx) => step.run(contextOf<I>(ctx)),
    };
  });
  return { name: definition.name, version: definition.version, steps };
}

/** The names of the steps a run of `definition` started with `input` goes through (steps without `when` always). */
export function runSteps(definition: WorkflowDefinition, input: Record<string, unknown>): string[] {
  return definition.steps.filter((step) => step.when?.(input) ?? true).map((step) => step.name);
}

/**
 * A stored run's input, typed as its workflow declares it (for a route that starts a workflow from
 * another run, e.g. a rollback). The one place a run's input gets its type: sm stores what the
 * route or worker built from a validated request, and gives it back as it was.
 */
export function runInput<I>(run: Pick<Run, 'input'>): I {
  return inputOf<I>(run.input);
}

/** What `step` recorded in a stored run; undefined when the run has no such step or it has not finished. */
export function runOutput<O>(run: Pick<Run, 'steps'>, step: Step<never, O>): O | undefined {
  // By name, as the engine finds steps: a run keeps the step list it was started with.
  return (run.steps.find((s) => s.name === step.name)?.output ?? undefined) as O | undefined;
}

function inputOf<I>(input: Record<string, unknown>): I {
  return input as I;
}

function contextOf<I>(ctx: StepContext): WorkflowContext<I> {
  return { ...ctx, input: inputOf<I>(ctx.run.input), output: (step) => runOutput(ctx.run, step) };
}
