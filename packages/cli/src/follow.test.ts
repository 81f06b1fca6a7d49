import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Workflow } from '@cx/api-schemas';
import { fit, parseDuration, progressLine, progressWriter, summary } from './follow.js';

const run = (status: Workflow['status'], currentStep: number): Workflow => ({
  id: 'w1',
  workflow: 'cluster.create',
  workflowVersion: 1,
  clusterId: 'c1',
  status,
  currentStep,
  generation: 0,
  steps: [
    {
      name: 'plan-machines',
      status: 'Succeeded',
      attempts: 1,
      message: null,
      error: null,
      startedAt: '2030-01-01T00:00:00Z',
      finishedAt: '2030-01-01T00:00:01.5Z',
    },
    {
      name: 'provision-machines',
      status: status === 'Failed' ? 'Failed' : 'Running',
      attempts: 1,
      message: '3/5 machines provisioned',
      error: status === 'Failed' ? { code: 'CX_PROVIDER_ERROR', message: 'quota' } : null,
      startedAt: null,
      finishedAt: null,
    },
  ],
  error: null,
  createdBy: 'admin',
  createdAt: '2030-01-01T00:00:00Z',
  startedAt: null,
  finishedAt: null,
  updatedAt: '2030-01-01T00:00:00Z',
});

describe('following a workflow', () => {
  it('reads durations', () => {
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.throws(() => parseDuration('soon'), /not a duration/);
    assert.throws(() => parseDuration(''), /not a duration/);
  });

  it('says where a run is: step n/m, its name, its message while it runs', () => {
    assert.equal(
      progressLine(run('Running', 1)),
      'cluster.create Running  2/2 provision-machines: 3/5 machines provisioned',
    );
    assert.equal(progressLine(run('Failed', 1)), 'cluster.create Failed  2/2 provision-machines');
  });

  it('sums up a finished run step by step, with the error', () => {
    assert.equal(
      summary(run('Failed', 1)),
      '  1. plan-machines Succeeded (1.5s)\n  2. provision-machines Failed: quota (CX_PROVIDER_ERROR)',
    );
  });

  /** The writes of a progress view for these states of a run. */
  function shown(tty: boolean, colour: boolean, states: Workflow[]): string {
    let out = '';
    const view = progressWriter({ write: (text: string) => (out += text) } as unknown as NodeJS.WritableStream, {
      tty,
      colour,
    });
    for (const state of states) view.update(state);
    view.end();
    return out;
  }
  const at = (status: Workflow['status'], step: number, message: string | null): Workflow => {
    const state = run(status, step);
    state.steps[step]!.message = message;
    return state;
  };
  const states = [
    at('Running', 0, null),
    at('Running', 1, null),
    at('Running', 1, '1/5 machines provisioned'),
    at('Running', 1, '3/5 machines provisioned'),
    at('Running', 1, '3/5 machines provisioned'),
    at('Succeeded', 1, null),
  ];

  it('in a pipe, prints one plain line per step change', () => {
    assert.equal(
      shown(false, false, states),
      [
        'cluster.create Running  1/2 plan-machines',
        'cluster.create Running  2/2 provision-machines',
        'cluster.create Succeeded  2/2 provision-machines',
        '',
      ].join('\n'),
    );
  });

  it("on a terminal, rewrites one line per step with the step's message, in colour when asked", () => {
    const plain = shown(true, false, states);
    assert.equal(
      plain,
      '\r\u001b[Kcluster.create Running  1/2 plan-machines\n' +
        '\r\u001b[Kcluster.create Running  2/2 provision-machines' +
        '\r\u001b[Kcluster.create Running  2/2 provision-machines: 1/5 machines provisioned' +
        '\r\u001b[Kcluster.create Running  2/2 provision-machines: 3/5 machines provisioned' +
        '\r\u001b[Kcluster.create Succeeded  2/2 provision-machines\n',
    );
    assert.ok(!plain.includes('\u001b[3'), 'no colour unless asked');
    assert.ok(shown(true, true, states).includes('\u001b[32mSucceeded\u001b[39m'), 'Succeeded in green');
  });

  it('cuts a live line to the terminal width, escapes taking no column', () => {
    assert.equal(fit('cluster.create Running', 40), 'cluster.create Running');
    assert.equal(fit('cluster.create Running', 10), 'cluster.c…');
    assert.equal(fit('a \u001b[33mRunning\u001b[39m step', 6), 'a \u001b[33mRun…\u001b[0m');
    let out = '';
    const view = progressWriter({ write: (text: string) => (out += text) } as unknown as NodeJS.WritableStream, {
      tty: true,
      columns: 30,
    });
    view.update(run('Running', 1));
    assert.equal(out, '\r\u001b[Kcluster.create Running  2/2 …', '29 columns: one is kept free');
  });
});
