/** Resolving what a public path names (an id, or a unique name) to the object's id, which access and every other call are keyed by. */
import Type, { type Static } from 'typebox';
import { NullableString } from '@cx/api-schemas';

/** The kinds of object the public API addresses by name as well as id (DESIGN.md section 2). */
export const NAMED_KINDS = [
  'cluster',
  'user',
  'group',
  'ha-config',
  'cluster-template',
  'resource-group',
  'credential',
  'host',
  'ip-pool',
  'pair',
] as const;
export const NamedKind = Type.Enum(NAMED_KINDS, { type: 'string' });
export type NamedKind = Static<typeof NamedKind>;

/** GET /names/{kind}/{ref}: the id of the object whose id is `ref`, else of the one named `ref`; null when neither exists. */
export const ResolvedName = Type.Object({ id: NullableString() });
export type ResolvedName = Static<typeof ResolvedName>;
