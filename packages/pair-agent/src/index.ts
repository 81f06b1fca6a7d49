/**
 * The side agent of a two-node pair (seed 002): `cx-pair-agent` runs next to each side and carries
 * out `@cx/pair`'s {@link SideAgent} against the side's Kubernetes API. Exported for the witness's
 * driver (the wire types) and for tests; the program itself is `main.ts`.
 */
export { BOOT_FILE, BootCounterError, nextBoot, readBoot } from './boot.js';
export { KubernetesError, READ_TIMEOUT_MS, SideCluster, selectorString, type SideClusterOptions, type SideRead, WRITE_TIMEOUT_MS } from './cluster.js';
export { AgentConfigError, DEFAULT_INTERVAL_MS, MIN_TOKEN_LENGTH, loadAgentConfig, parseAgentConfig, parseListen, type AgentConfig, type LogLevel } from './config.js';
export { AgentRunner, UNSETTLED_WRITE_MS, type AgentRunnerOptions, type AgentStatus, type CommandResult, type LocalState, type SideApi } from './runner.js';
export { buildAgentServer, type AgentServerOptions, type CommandResponse, type Heartbeat, type PollRequest, type PollResponse } from './server.js';
