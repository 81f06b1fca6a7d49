import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './client.js';
import { describeFailure, EXIT, EXIT_CODE_TABLE, exitCodeOf } from './exit-codes.js';

describe('exit codes', () => {
  it('maps server problems by their stable code', () => {
    assert.equal(exitCodeOf('CX_INPUT_INVALID', 400), EXIT.usage);
    assert.equal(exitCodeOf('CX_UNAUTHENTICATED', 401), EXIT.unauthenticated);
    assert.equal(exitCodeOf('CX_NOT_ALLOWED', 403), EXIT.notAllowed);
    assert.equal(exitCodeOf('CX_NOT_FOUND', 404), EXIT.notFound);
    assert.equal(exitCodeOf('CX_CLUSTER_BUSY', 409), EXIT.conflict);
    assert.equal(exitCodeOf('CX_QUOTA_EXCEEDED', 422), EXIT.conflict);
    assert.equal(exitCodeOf('CX_DEPENDENCY_UNAVAILABLE', 503), EXIT.unavailable);
    assert.equal(exitCodeOf('CX_INTERNAL', 500), EXIT.error);
    assert.equal(exitCodeOf(undefined, 404), EXIT.notFound);
  });

  it('documents every code once, in order', () => {
    assert.deepEqual(
      EXIT_CODE_TABLE.map(([code]) => code),
      Object.values(EXIT).sort((a, b) => a - b),
    );
  });

  it("prints the problem's detail, its code, the invalid fields and what to do", () => {
    const failure = describeFailure(
      new ApiError(409, { detail: 'cluster demo has a workflow in progress', code: 'CX_CLUSTER_BUSY' }),
    );
    assert.equal(failure.exitCode, EXIT.conflict);
    assert.match(failure.message, /^cluster demo has a workflow in progress \(CX_CLUSTER_BUSY\)\n {2}hint: wait for/);
    const invalid = describeFailure(
      new ApiError(400, {
        detail: 'invalid request',
        code: 'CX_INPUT_INVALID',
        fields: [{ field: 'body.name', message: 'must match pattern' }],
      }),
    );
    assert.equal(invalid.exitCode, EXIT.usage);
    assert.equal(invalid.message, 'invalid request (CX_INPUT_INVALID)\n  body.name: must match pattern');
  });
});
