/**
 * How requests are validated: a body is JSON and keeps its types (an integer sent as "2" is
 * refused, a `null` is not read as false), while a query string, path parameters and headers are
 * text and are coerced to the types their schema declares. Defaults are filled in; extra fields are
 * reported, never dropped silently.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type ValidatorFactory = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>;

const common = { removeAdditional: false, allErrors: true, useDefaults: true } as const;

export const buildValidator: ValidatorFactory = (externalSchemas) => {
  const pool = AjvCompiler();
  const withTypes = (coerceTypes: false | 'array') =>
    pool(externalSchemas, { customOptions: { ...common, coerceTypes } });
  const body = withTypes(false);
  const text = withTypes('array');
  return (route) => (route.httpPart === 'body' ? body : text)(route);
};
