import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import {
  ConflictError,
  ERROR_CODES,
  InputError,
  ProviderUnavailableError,
  asCxError,
  fromProblem,
  toProblem,
} from './index.js';

describe('errors', () => {
  it('docs/errors.md catalogues every code with its HTTP status', () => {
    const catalogue = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
    for (const [code, meta] of Object.entries(ERROR_CODES)) {
      assert.match(
        catalogue,
        new RegExp(`\\| \`${code}\` \\| ${meta.status} \\|`),
        `${code} is not catalogued with status ${meta.status}`,
      );
    }
  });

  it('maps business errors to RFC 9457 problems and back, by code', () => {
    const problem = toProblem(new InputError('bad name', [{ field: 'body.name', message: 'is invalid' }]), 'req-1');
    assert.equal(problem.status, 400);
    assert.equal(problem.code, 'CX_INPUT_INVALID');
    assert.equal(problem.type, 'https://cx.dev/problems/input-invalid');
    assert.equal(problem.requestId, 'req-1');
    assert.deepEqual(problem['fields'], [{ field: 'body.name', message: 'is invalid' }]);
    const again = fromProblem(JSON.parse(JSON.stringify(problem)), 400);
    assert.equal(again.code, 'CX_INPUT_INVALID');
    assert.deepEqual(again.details?.['fields'], [{ field: 'body.name', message: 'is invalid' }]);
  });

  it('keeps the standard members when details carry the same names', () => {
    const problem = toProblem(
      new ConflictError('stale', 'CX_WORKFLOW_STATE', { details: { status: 'Running', code: 'X', type: 'y' } }),
    );
    assert.equal(problem.status, 409);
    assert.equal(problem.code, 'CX_WORKFLOW_STATE');
    assert.equal(problem.type, 'https://cx.dev/problems/workflow-state');
  });

  it('hides the internals of unexpected errors', () => {
    const problem = toProblem(new Error('password=hunter2 at db.ts:12'));
    assert.equal(problem.status, 500);
    assert.equal(problem.code, 'CX_INTERNAL');
    assert.doesNotMatch(JSON.stringify(problem), /hunter2/);
  });

  it('classifies retryable errors by code, also across a process boundary', () => {
    assert.equal(new ProviderUnavailableError('down').retryable, true);
    assert.equal(asCxError({ code: 'CX_PROVIDER_UNAVAILABLE', message: 'down' }).retryable, true);
    const remote = fromProblem(
      { code: 'CX_DEPENDENCY_UNAVAILABLE', detail: 'sm is down', status: 503, retryable: true },
      503,
    );
    assert.equal(remote.retryable, true);
    assert.equal(remote.retryAfterSeconds, 5);
  });
});
