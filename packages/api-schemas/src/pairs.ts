/**
 * Two-node pairs (seed 002; docs/two-node-pair.md): two single-node clusters declared as one
 * resource with the singleton Deployments that run on at most one of them. cx is the witness; the
 * `status` is what the witness last decided.
 */
import Type, { type Static } from 'typebox';
import { FreeObject, MapOf, Nullable, NullableString } from './common.js';

const NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const SIDES = ['a', 'b'] as const;
const Side = (options: Record<string, unknown> = {}) => Type.Enum(SIDES, { type: 'string', ...options });

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

/** A timing of the request: optional, with its default. */
const timing = (key: keyof PairTimingSettings) =>
  Type.Optional(
    Type.Integer({
      minimum: key === 'fencingDelayMs' ? 0 : 100,
      maximum: 3_600_000,
      default: PAIR_TIMING_DEFAULTS[key],
      description: timingDescriptions[key],
    }),
  );

const timingSchema = Type.Object(
  {
    peerLossTimeoutMs: timing('peerLossTimeoutMs'),
    fencingDelayMs: timing('fencingDelayMs'),
    fenceTimeoutMs: timing('fenceTimeoutMs'),
    fenceRetryMs: timing('fenceRetryMs'),
    powerPollIntervalMs: timing('powerPollIntervalMs'),
    isolationTimeoutMs: timing('isolationTimeoutMs'),
    commandRetryMs: timing('commandRetryMs'),
  } satisfies Record<keyof PairTimingSettings, unknown>,
  { additionalProperties: false },
);

const singletonSchema = Type.Object(
  {
    namespace: Type.String({ pattern: NAME, minLength: 1, maxLength: 63 }),
    name: Type.String({
      pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
      minLength: 1,
      maxLength: 253,
      description: 'A Deployment that exists on both sides',
    }),
    preferredSide: Side({ description: 'Where it runs while both sides are healthy and see each other' }),
  },
  { additionalProperties: false },
);
export type PairSingleton = Static<typeof singletonSchema>;

const sideRequestSchema = Type.Object(
  {
    clusterId: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'A single-node cluster whose provider can power its machine off (its BMC, for baremetal)',
    }),
    agentUrl: Type.Optional(
      Type.String({
        format: 'uri',
        pattern: '^https?://',
        maxLength: 2048,
        description: "Where the side's pair agent listens; default http://<the machine's first address>:9640",
      }),
    ),
  },
  { additionalProperties: false },
);

export const pairCreateRequestSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME, minLength: 1, maxLength: 63 }),
    sides: Type.Object({ a: sideRequestSchema, b: sideRequestSchema }, { additionalProperties: false }),
    singletons: Type.Array(singletonSchema, { minItems: 1, maxItems: 50 }),
    preferredSide: Type.Optional(
      Side({
        default: 'a',
        description: 'The side that wins a fencing race: fencing it waits fencingDelayMs longer',
      }),
    ),
    afterFence: Type.Optional(
      Type.Enum(['power-on', 'stay-off'], {
        type: 'string',
        default: 'power-on',
        description:
          'power-on: a fenced side is powered on again and comes back holding everything until it sees its peer or the witness; stay-off: an admin powers it on',
      }),
    ),
    timing: Type.Optional(timingSchema),
  },
  { additionalProperties: false },
);
export type PairCreateRequest = Static<typeof pairCreateRequestSchema>;

const when = NullableString({ description: 'ISO time' });

const pairEventSchema = Type.Object(
  {
    at: Type.Optional(Type.String()),
    side: Type.Optional(Side()),
    action: Type.Optional(Type.String()),
    singleton: Type.Optional(Type.String()),
    outcome: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type PairEvent = Static<typeof pairEventSchema>;

/** The witness's last decision, as `@cx/pair` reports it (times as ISO strings). sm's internal API validates the witness's reports with it too. */
export const pairStatusSchema = Type.Object(
  {
    at: Type.Optional(Type.String()),
    phase: Type.Optional(Type.Enum(['Healthy', 'Degraded', 'Partitioned', 'Fencing', 'Blocked'], { type: 'string' })),
    conditions: Type.Optional(
      Type.Array(
        Type.Object(
          {
            reason: Type.Optional(Type.String()),
            side: Type.Optional(Side()),
            message: Type.Optional(Type.String()),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    sides: Type.Optional(
      MapOf(
        Type.Object(
          {
            reachable: Type.Optional(Type.Boolean()),
            lastHeardAt: Type.Optional(when),
            seesPeer: Type.Optional(Nullable(Type.Boolean())),
            ready: Type.Optional(Nullable(Type.Boolean())),
            boot: Type.Optional(Type.Integer()),
            fence: Type.Optional(FreeObject({ additionalProperties: true })),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    singletons: Type.Optional(
      Type.Array(
        Type.Object(
          {
            singleton: Type.Optional(Type.String()),
            preferredSide: Type.Optional(Side()),
            owner: Type.Optional(NullableString()),
            runningOn: Type.Optional(Type.Array(Side())),
            state: Type.Optional(Type.String()),
            message: Type.Optional(Type.String()),
          },
          { additionalProperties: true },
        ),
      ),
    ),
    events: Type.Optional(
      Type.Array(pairEventSchema, {
        description: 'What the witness did, newest last (fences, power reads, scaling commands)',
      }),
    ),
  },
  { additionalProperties: true },
);
export type PairStatusView = Static<typeof pairStatusSchema>;

const sideSchema = Type.Object({ clusterId: Type.String(), agentUrl: Type.String() });

export const pairSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  sides: Type.Object({ a: sideSchema, b: sideSchema }),
  singletons: Type.Array(singletonSchema),
  preferredSide: Side(),
  afterFence: Type.Enum(['power-on', 'stay-off'], { type: 'string' }),
  timing: Type.Required(timingSchema),
  status: Type.Union([pairStatusSchema, Type.Null()], {
    description: 'null until the witness has looked at the pair',
  }),
  createdBy: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  version: Type.Integer(),
});
export type Pair = Static<typeof pairSchema>;

/** What a side's agent runs with (`cx-pair-agent --config`); it carries the pair's token: operators only. */
export const pairAgentConfigSchema = Type.Object({
  spec: FreeObject({ additionalProperties: true }),
  side: Side(),
  listen: Type.String(),
  peerUrl: Type.String(),
  token: Type.String(),
  stateDir: Type.String(),
});
