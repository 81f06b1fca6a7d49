/** Building blocks the contract's schemas share. */
import Type, { type Static, type TSchema, type TUnsafe } from 'typebox';

/** A JSON object whose keys are free (a workflow's input, an addon's settings…). */
export const JsonObject = Type.Record(Type.String(), Type.Unknown());
export type JsonObject = Static<typeof JsonObject>;

/**
 * A shape declared in `@cx/api-schemas` (the public API), embedded here by its type and checked
 * only as `base` (an object) where sm validates it against api-schemas' own schema elsewhere.
 */
export function Public<T>(base: TSchema = Type.Object({})): TUnsafe<T> {
  return Type.Unsafe<T>(base);
}
