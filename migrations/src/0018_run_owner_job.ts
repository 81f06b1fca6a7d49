import type { Knex } from 'knex';

/**
 * `workflow_runs.owner_job`: the step job that last started one of the run's steps. A job that
 * finishes a step runs the next one itself (wfm's engine), so the job holding a run is not always
 * the one named after its current step; the reconciler reads this to know whether the run has a
 * live job before it enqueues another.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workflow_runs', (t) => {
    t.string('owner_job', 255).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('workflow_runs', (t) => {
    t.dropColumn('owner_job');
  });
}
