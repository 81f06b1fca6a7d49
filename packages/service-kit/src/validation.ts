/**
 * How requests are validated: a body is JSON and keeps its types (an integer sent as "2" is
 * refused, a `null` is not read as false), while a query string, path parameters and headers are
 * text and are coerced to the types their schema declares. Defaults are filled in; extra fields are
 * reported, never dropped silently.
 */
import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions, FastifySchemaValidationError } from 'fastify';
import { InputError, type FieldError } from '@cx/errors';

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

/** The fields a failed validation names, as every cx answer names them (`body.pool.count`). */
export function invalidInput(errors: FastifySchemaValidationError[], context: string): InputError {
  const fields: FieldError[] = errors.map((v) => {
    const base = `${context}${v.instancePath.replace(/\//g, '.')}`;
    const params = v.params as Record<string, unknown>;
    if (v.keyword === 'additionalProperties')
      return { field: `${base}.${String(params['additionalProperty'])}`, message: 'is not a known field' };
    if (v.keyword === 'required')
      return { field: `${base}.${String(params['missingProperty'])}`, message: 'is required' };
    return { field: base, message: v.message ?? 'is invalid' };
  });
  return new InputError(`invalid request: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, fields);
}

/**
 * Validation of input handed over in-process (sm's direct calls in the all-in-one) as a route
 * validates its body or path parameters over HTTP: the same options (typed, as a JSON body is:
 * in-process values keep their types), defaults filled in, and an InputError naming the same
 * fields. Compiled once, when the validator is made.
 */
export function inputValidator<T>(schema: object, part: 'body' | 'params'): (value: T) => T {
  const validate = AjvCompiler()({}, { customOptions: { ...common, coerceTypes: false } })({
    schema,
    method: 'POST',
    url: '/',
    httpPart: part,
  }) as ((value: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };
  return (value) => {
    if (!validate(value)) throw invalidInput(validate.errors ?? [], part);
    return value;
  };
}
