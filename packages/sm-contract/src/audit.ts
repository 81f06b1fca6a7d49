/** Entries of cx's audit log that wfm and sddc write through sm. */
import Type, { type Static } from 'typebox';
import { NullableString } from '@cx/api-schemas';

/** POST /audit: who did what to which target, from where, with what outcome. */
export const AuditRequest = Type.Object({
  actor: Type.String(),
  action: Type.String(),
  outcome: Type.String(),
  targetKind: Type.Optional(NullableString()),
  targetId: Type.Optional(NullableString()),
  sourceIp: Type.Optional(NullableString()),
  requestId: Type.Optional(NullableString()),
  details: Type.Optional(Type.Unknown()),
});
export type AuditRequest = Static<typeof AuditRequest>;
