/** What sddc's pair witness reads from sm and writes back. */
import Type, { type Static } from 'typebox';
import { NullableString } from '@cx/api-schemas';
import { Public } from './schema.js';

/** A side as the witness needs it: how to reach its agent and how to power its machine off. */
export const PairSideTarget = Type.Object({
  clusterId: Type.String(),
  clusterName: Type.String(),
  provider: Type.String(),
  machineId: NullableString(),
  agentUrl: Type.String(),
});
export type PairSideTarget = Static<typeof PairSideTarget>;

/** Everything sddc's witness needs for one pair. */
export const PairTarget = Type.Object({
  id: Type.String(),
  /** The `@cx/pair` PairSpec the witness and both agents run with (checked before use). */
  spec: Type.Record(Type.String(), Type.Unknown()),
  sides: Type.Object({ a: PairSideTarget, b: PairSideTarget }),
  token: Type.String(),
  witness: Type.Unknown(),
});
export type PairTarget = Static<typeof PairTarget>;

/** PUT /pairs/{id}/witness: the witness's durable state, written before it acts on a decision. */
export const PairWitnessBody = Type.Object({ snapshot: Public<unknown>() });
export type PairWitnessBody = Static<typeof PairWitnessBody>;
