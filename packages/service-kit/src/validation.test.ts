/** Request validation as every cx service does it: typed bodies, coerced query strings and path parameters. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { CxError } from '@cx/errors';
import { createHttpServer, createLogger, inputValidator } from './index.js';

describe('request validation', () => {
  let app: FastifyInstance;
  const seen: unknown[] = [];
  before(async () => {
    app = createHttpServer({
      service: 'test',
      logger: createLogger({ level: 'silent', service: 'test' }),
      readiness: {},
    });
    app.post(
      '/things/:n',
      {
        schema: {
          params: { type: 'object', properties: { n: { type: 'integer' } } },
          querystring: {
            type: 'object',
            properties: { limit: { type: 'integer', default: 50 }, flag: { type: 'boolean' } },
          },
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              maxUnhealthy: {
                oneOf: [
                  { type: 'integer', minimum: 0 },
                  { type: 'string', pattern: '^[0-9]+%$' },
                ],
              },
              disabled: { type: 'boolean' },
              count: { type: 'integer', default: 1 },
            },
          },
        },
      },
      async (request) => {
        seen.push({ params: request.params, query: request.query, body: request.body });
        return { params: request.params, query: request.query, body: request.body };
      },
    );
    await app.ready();
  });
  after(() => app.close());

  const post = (url: string, body: unknown) =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  it('keeps a body’s JSON types: an integer stays an integer, a string is not read as one', async () => {
    const ok = await post('/things/1', { maxUnhealthy: 2 });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json().body, { maxUnhealthy: 2, count: 1 }, 'the integer is kept and the default filled in');
    const text = await post('/things/1', { count: '2' });
    assert.equal(text.statusCode, 400, 'a number sent as a string is refused, not coerced');
    assert.equal(text.json().code, 'CX_INPUT_INVALID');
  });

  it('refuses null for a boolean instead of reading it as false', async () => {
    const answer = await post('/things/1', { disabled: null });
    assert.equal(answer.statusCode, 400);
    assert.match(JSON.stringify(answer.json()), /disabled/);
  });

  it('coerces the query string and path parameters, which are text, to their declared types', async () => {
    const answer = await post('/things/7?limit=20&flag=true', {});
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(answer.json().params, { n: 7 });
    assert.deepEqual(answer.json().query, { limit: 20, flag: true });
    assert.equal((await post('/things/seven', {})).statusCode, 400);
  });
});

describe('in-process input validation (inputValidator)', () => {
  const schema = {
    type: 'object',
    required: ['n'],
    additionalProperties: false,
    properties: { n: { type: 'integer' }, count: { type: 'integer', default: 1 } },
  } as const;

  it('fills defaults in as a route does, and keeps the types', () => {
    const body = inputValidator<{ n: number; count?: number }>(schema, 'body');
    assert.deepEqual(body({ n: 2 }), { n: 2, count: 1 });
    assert.throws(
      () => body({ n: '2' as unknown as number }),
      (error: CxError) =>
        error.code === 'CX_INPUT_INVALID' &&
        JSON.stringify(error.details?.['fields']) === JSON.stringify([{ field: 'body.n', message: 'must be integer' }]),
      'a string is not coerced',
    );
  });

  it('names the fields of every error, in the part of the request they belong to', () => {
    const params = inputValidator<Record<string, unknown>>(schema, 'params');
    assert.throws(
      () => params({ extra: 1 }),
      (error: CxError) =>
        error.code === 'CX_INPUT_INVALID' &&
        /params\.n is required/.test(error.message) &&
        /params\.extra is not a known field/.test(error.message),
    );
  });
});
