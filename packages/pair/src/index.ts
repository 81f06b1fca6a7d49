/**
 * The decision logic of a two-node pair (seed 002, DESIGN.md §5): the witness cx runs, the agent
 * each side runs, and the messages between them. Pure and deterministic: time and observations go
 * in, actions and a status come out; sddc and the agent pod carry them out. The randomized proof
 * of its safety and liveness is in `@cx/pair/testing` (docs/two-node-pair.md).
 */
export {
  type BmcProtocol,
  type BmcSpec,
  type PairSpec,
  type PairSpecProblem,
  type PairTiming,
  type Side,
  type SideSpec,
  type SingletonSpec,
  DEFAULT_PAIR_TIMING,
  PairSpecError,
  SIDES,
  assertPairSpec,
  checkPairSpec,
  otherSide,
  singletonKey,
} from './spec.js';
export type { ScaleCommand, SideReport, WitnessAction, WitnessObservation } from './messages.js';
export { type AgentDecision, type AgentState, type CommandOutcome, SideAgent } from './agent.js';
export {
  type FenceState,
  type PairCondition,
  type PairPhase,
  type PairReason,
  type PairStatus,
  type SideStatus,
  type SingletonState,
  type SingletonStatus,
  type WitnessDecision,
  type WitnessSnapshot,
  PairWitness,
} from './witness.js';
