/**
 * Two-node pairs (seed 002; docs/two-node-pair.md): two single-node clusters declared as one
 * resource with the singleton Deployments that run on at most one of them. cx is the witness; the
 * `status` is what the witness last decided.
 */
const NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const SIDE = { type: 'string', enum: ['a', 'b'] } as const;

/** The pair's timings in milliseconds, with their defaults (the same names as in `@cx/pair`). */
export const PAIR_TIMING_DEFAULTS = {
  peerLossTimeoutMs: 10_000,
  fencingDelayMs: 10_000,
  fenceTimeoutMs: 60_000,
  fenceRetryMs: 30_000,
  powerPollIntervalMs: 2_000,
  isolationTimeoutMs: 20_000,
  commandRetryMs: 10_000,
} as const;
export type PairTimingSettings = { -readonly [K in keyof typeof PAIR_TIMING_DEFAULTS]: number };

const timingDescriptions: Record<keyof PairTimingSettings, string> = {
  peerLossTimeoutMs: 'Silence after which the witness counts a side as lost, and a side stops seeing its peer',
  fencingDelayMs:
    'Extra silence before the preferred side is fenced, so that in a race the other side loses (0 allowed)',
  fenceTimeoutMs: 'A fence whose power-off is not read within it has failed; must exceed the slowest power-off',
  fenceRetryMs: 'Wait after a failed fence before the next attempt',
  powerPollIntervalMs: 'How often the power state is read while a fence is pending; shorter than fenceTimeoutMs',
  isolationTimeoutMs: 'A side that has seen neither its peer nor the witness this long stops its singletons',
  commandRetryMs: 'A scaling command with no visible effect is sent again after it',
};

const timingSchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    Object.entries(PAIR_TIMING_DEFAULTS).map(([key, value]) => [
      key,
      {
        type: 'integer',
        minimum: key === 'fencingDelayMs' ? 0 : 100,
        maximum: 3_600_000,
        default: value,
        description: timingDescriptions[key as keyof PairTimingSettings],
      },
    ]),
  ),
} as const;

const singletonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['namespace', 'name', 'preferredSide'],
  properties: {
    namespace: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 },
    name: {
      type: 'string',
      pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
      minLength: 1,
      maxLength: 253,
      description: 'A Deployment that exists on both sides',
    },
    preferredSide: { ...SIDE, description: 'Where it runs while both sides are healthy and see each other' },
  },
} as const;

const sideRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['clusterId'],
  properties: {
    clusterId: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'A single-node cluster whose provider can power its machine off (its BMC, for baremetal)',
    },
    agentUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      maxLength: 2048,
      description: "Where the side's pair agent listens; default http://<the machine's first address>:9640",
    },
  },
} as const;

export const pairCreateRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'sides', 'singletons'],
  properties: {
    name: { type: 'string', pattern: NAME, minLength: 1, maxLength: 63 },
    sides: {
      type: 'object',
      additionalProperties: false,
      required: ['a', 'b'],
      properties: { a: sideRequestSchema, b: sideRequestSchema },
    },
    singletons: { type: 'array', minItems: 1, maxItems: 50, items: singletonSchema },
    preferredSide: {
      ...SIDE,
      default: 'a',
      description: 'The side that wins a fencing race: fencing it waits fencingDelayMs longer',
    },
    afterFence: {
      type: 'string',
      enum: ['power-on', 'stay-off'],
      default: 'power-on',
      description:
        'power-on: a fenced side is powered on again and comes back holding everything until it sees its peer or the witness; stay-off: an admin powers it on',
    },
    timing: timingSchema,
  },
} as const;

export interface PairSingleton {
  namespace: string;
  name: string;
  preferredSide: 'a' | 'b';
}
export interface PairCreateRequest {
  name: string;
  sides: Record<'a' | 'b', { clusterId: string; agentUrl?: string }>;
  singletons: PairSingleton[];
  preferredSide?: 'a' | 'b';
  afterFence?: 'power-on' | 'stay-off';
  timing?: Partial<PairTimingSettings>;
}

const when = { type: ['string', 'null'], description: 'ISO time' } as const;

/** The witness's last decision, as `@cx/pair` reports it (times as ISO strings). */
export const pairStatusSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    at: { type: 'string' },
    phase: { type: 'string', enum: ['Healthy', 'Degraded', 'Partitioned', 'Fencing', 'Blocked'] },
    conditions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: { reason: { type: 'string' }, side: SIDE, message: { type: 'string' } },
      },
    },
    sides: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: true,
        properties: {
          reachable: { type: 'boolean' },
          lastHeardAt: when,
          seesPeer: { type: ['boolean', 'null'] },
          ready: { type: ['boolean', 'null'] },
          boot: { type: 'integer' },
          fence: { type: 'object', additionalProperties: true },
        },
      },
    },
    singletons: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          singleton: { type: 'string' },
          preferredSide: SIDE,
          owner: { type: ['string', 'null'] },
          runningOn: { type: 'array', items: SIDE },
          state: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
    events: {
      type: 'array',
      description: 'What the witness did, newest last (fences, power reads, scaling commands)',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          at: { type: 'string' },
          side: SIDE,
          action: { type: 'string' },
          singleton: { type: 'string' },
          outcome: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
} as const;

export interface PairEvent {
  at: string;
  side: 'a' | 'b';
  action: string;
  singleton?: string;
  outcome: string;
  message: string;
}
export interface PairStatusView {
  at: string;
  phase: string;
  conditions: Array<{ reason: string; side?: 'a' | 'b'; message: string }>;
  sides: Record<'a' | 'b', Record<string, unknown>>;
  singletons: Array<Record<string, unknown>>;
  events: PairEvent[];
}

export const pairSchema = {
  type: 'object',
  required: ['id', 'name', 'sides', 'singletons', 'preferredSide', 'afterFence', 'timing', 'status'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    sides: {
      type: 'object',
      properties: Object.fromEntries(
        ['a', 'b'].map((s) => [
          s,
          { type: 'object', properties: { clusterId: { type: 'string' }, agentUrl: { type: 'string' } } },
        ]),
      ),
    },
    singletons: { type: 'array', items: singletonSchema },
    preferredSide: SIDE,
    afterFence: { type: 'string' },
    timing: { type: 'object', additionalProperties: { type: 'integer' } },
    status: {
      anyOf: [pairStatusSchema, { type: 'null' }],
      description: 'null until the witness has looked at the pair',
    },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    version: { type: 'integer' },
  },
} as const;

export interface Pair {
  id: string;
  name: string;
  sides: Record<'a' | 'b', { clusterId: string; agentUrl: string }>;
  singletons: PairSingleton[];
  preferredSide: 'a' | 'b';
  afterFence: 'power-on' | 'stay-off';
  timing: PairTimingSettings;
  status: PairStatusView | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** What a side's agent runs with (`cx-pair-agent --config`); it carries the pair's token: operators only. */
export const pairAgentConfigSchema = {
  type: 'object',
  required: ['spec', 'side', 'listen', 'peerUrl', 'token', 'stateDir'],
  properties: {
    spec: { type: 'object', additionalProperties: true },
    side: SIDE,
    listen: { type: 'string' },
    peerUrl: { type: 'string' },
    token: { type: 'string' },
    stateDir: { type: 'string' },
  },
} as const;
