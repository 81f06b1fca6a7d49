import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Workflow } from '@cx/api-schemas';
import { parseDuration, progressLine, summary } from './follow.js';

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
});
