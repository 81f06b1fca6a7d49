/**
 * What the witness (cx), the two side agents and the BMCs say to each other. These are the only
 * inputs and outputs of the decision logic; the code that carries them (sddc, the agent pod) adds
 * no decision of its own.
 */
import type { Side } from './spec.js';

/**
 * A side agent's answer to the witness's poll. The witness polls every side on its own interval,
 * sending its clock; the agent answers with this.
 */
export interface SideReport {
  side: Side;
  /**
   * The side's boot counter, kept on the node's disk and incremented at every start of the agent.
   * Everything a side ran in an earlier boot is gone: a start holds every singleton inactive.
   */
  boot: number;
  /** Number of this report within the boot; the witness drops reports that are not newer. */
  seq: number;
  /**
   * The witness's clock in the newest poll or command the agent has received. It is the
   * evidence that the side was alive at that time, whatever delay the report suffered on the way.
   */
  witnessTime: number;
  /** Whether the agent heard its peer within `peerLossTimeoutMs`. `false` asks the witness to fence the peer. */
  seesPeer: boolean;
  /** Whether the side can start pods (its kubelet runs). */
  ready: boolean;
  /**
   * Highest command `seq` applied in this boot; the agent refuses any command with a `seq` not
   * above it, so a command at or below it is applied or will never be.
   */
  appliedSeq: number;
  /** Singleton keys that have replicas wanted or still running on the side (a pod still stopping counts). */
  active: string[];
}

/** A scaling command from the witness to one side, carried out by that side's agent. */
export interface ScaleCommand {
  side: Side;
  singleton: string;
  replicas: 0 | 1;
  /** The boot the witness addresses; a side in any other boot refuses the command. */
  boot: number;
  /** Unique and increasing across everything the witness ever sent (persisted). */
  seq: number;
  /** Witness clock when it was sent. */
  issuedAt: number;
}

/**
 * What the witness wants done. `fence` is a power-off through the side's BMC, `confirmPowerOff`
 * a read of its power state; only an `off` read counts as proof, never silence.
 */
export type WitnessAction =
  | { kind: 'fence'; side: Side; attempt: number }
  | { kind: 'confirmPowerOff'; side: Side; attempt: number }
  | { kind: 'powerOn'; side: Side; attempt: number }
  | ({ kind: 'activate' } & ScaleCommand)
  | ({ kind: 'deactivate' } & ScaleCommand);

/** What the witness learns; `at` is the witness's clock when it learnt it. */
export type WitnessObservation =
  | { kind: 'report'; at: number; report: SideReport }
  /** A poll or a command to the side could not be delivered (connection refused, timeout). */
  | { kind: 'unreachable'; at: number; side: Side; reason: string }
  /** The BMC's answer to a `fence` action: it took the power-off, or could not. */
  | { kind: 'fenceResult'; at: number; side: Side; attempt: number; outcome: 'accepted' | 'failed'; reason?: string }
  /** The BMC's answer to `confirmPowerOff`; `unknown` when it could not be read. */
  | { kind: 'powerState'; at: number; side: Side; attempt: number; state: 'on' | 'off' | 'unknown'; reason?: string };
