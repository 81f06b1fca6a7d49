/** What the audit trail keeps of a request body. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutSecrets } from './audit.js';

describe('withoutSecrets', () => {
  it('keeps what a request asked for and redacts secret values at any depth', () => {
    assert.deepEqual(
      withoutSecrets({
        name: 'vc',
        password: 'hunter2',
        bmc: { address: 'https://bmc', password: 'p', caCert: 'PEM' },
        addons: [{ name: 'x', secrets: { token: 't' }, settings: { replicas: 2 } }],
        taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
        currentPassword: 'a',
        newPassword: 'b',
      }),
      {
        name: 'vc',
        password: '[redacted]',
        bmc: { address: 'https://bmc', password: '[redacted]', caCert: 'PEM' },
        addons: [{ name: 'x', secrets: '[redacted]', settings: { replicas: 2 } }],
        taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
        currentPassword: '[redacted]',
        newPassword: '[redacted]',
      },
    );
  });

  it('bounds long strings and arrays', () => {
    const long = withoutSecrets({ text: 'x'.repeat(1000), list: Array.from({ length: 100 }, (_, i) => i) }) as {
      text: string;
      list: number[];
    };
    assert.equal(long.text.length, 257);
    assert.equal(long.list.length, 50);
  });
});
