import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFailedReason, openFromTransit, parseFailedReason, sealForTransit } from './index.js';

describe('secrets in job payloads', () => {
  it('seals so that only a holder of the same service token opens, and any change is detected', () => {
    const secret = { password: 'pa55-word-in-transit' };
    const sealed = sealForTransit(secret, 'token-a');
    assert.ok(!sealed.includes('pa55'), 'the payload carries no plaintext');
    assert.notEqual(sealForTransit(secret, 'token-a'), sealed, 'every seal has its own nonce');
    assert.deepEqual(openFromTransit(sealed, 'token-a'), secret);
    assert.throws(() => openFromTransit(sealed, 'token-b'));
    const [iv, tag, body] = sealed.split('.');
    const flipped = `${iv}.${tag}.${body!.slice(0, -2)}${body!.endsWith('AA') ? 'AB' : 'AA'}`;
    assert.throws(() => openFromTransit(flipped, 'token-a'));
  });
});

describe('failed reasons of sddc operations', () => {
  it('carry the code, message, retryability and details across BullMQ', () => {
    const text = formatFailedReason({
      code: 'CX_PROVIDER_ERROR',
      message: 'clone failed:\nno space',
      retryable: true,
      details: { reason: 'InsufficientResources' },
    });
    assert.deepEqual(parseFailedReason(text), {
      code: 'CX_PROVIDER_ERROR',
      message: 'clone failed:\nno space',
      retryable: true,
      details: { reason: 'InsufficientResources' },
    });
    assert.deepEqual(parseFailedReason('CX_PROVIDER_UNAVAILABLE: down'), {
      code: 'CX_PROVIDER_UNAVAILABLE',
      message: 'down',
    });
    assert.equal(parseFailedReason('TypeError: x is undefined'), undefined);
  });
});
