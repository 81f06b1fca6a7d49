/**
 * The side agent of a two-node pair (seed 002): `cx-pair-agent` runs next to each side and carries
 * out `@cx/pair`'s {@link SideAgent} against the side's Kubernetes API. Exported for the witness's
 * driver (the wire types) and for tests; the program itself is `main.ts`.
 */
export { BOOT_FILE, BootCounterError, nextBoot, readBoot } from './boot.js';
export {
  FIELD_MANAGER,
  type GateOutcome,
  KubernetesError,
  READ_TIMEOUT_MS,
  SideCluster,
  selectorString,
  type SideClusterOptions,
  type SideRead,
  WRITE_TIMEOUT_MS,
} from './cluster.js';
export {
  AgentConfigError,
  DEFAULT_GATE_DIR,
  DEFAULT_GATE_IMAGE,
  DEFAULT_INTERVAL_MS,
  MIN_TOKEN_LENGTH,
  isPinnedImage,
  loadAgentConfig,
  parseAgentConfig,
  parseListen,
  type AgentConfig,
  type LogLevel,
} from './config.js';
export {
  GATE_CONTAINER,
  GATE_MOUNT_PATH,
  GATE_VOLUME,
  type GateConfig,
  gateCommand,
  gateInitContainer,
  gatePatch,
  gateProblem,
  gateVolume,
} from './gate-template.js';
export { GateError, GateTokens, gateFileName } from './gate-tokens.js';
export {
  AgentRunner,
  GATE_RETRY_MS,
  UNSETTLED_WRITE_MS,
  type AgentRunnerOptions,
  type AgentStatus,
  type CommandResult,
  type GateStatus,
  type LocalState,
  type SideApi,
} from './runner.js';
export {
  buildAgentServer,
  type AgentServerOptions,
  type CommandResponse,
  type Heartbeat,
  type PollRequest,
  type PollResponse,
} from './server.js';
