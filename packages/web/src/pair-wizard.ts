/**
 * The wizard's two-node pair (docs/two-node-pair.md): two single-node clusters, the sides `a` and
 * `b`, created from the one form, then declared as a pair with `POST /api/v1/pairs` once both are
 * Ready. The pure parts — the sides' names, what the form is missing, the declaration — live here,
 * apart from the page, so that they are unit-tested.
 */
import type { PairCreateRequest } from '@cx/api-schemas';
import { checkField, parseSingletons } from './admin-forms.js';
import { fieldProblem, type JsonSchema } from './schema.js';

export const SIDES = ['a', 'b'] as const;
export type Side = (typeof SIDES)[number];

/** What the form asks for a pair beyond the cluster both sides share. */
export interface PairDraft {
  /** The sides' cluster names; empty: `<pair name>-a` and `-b`. */
  clusterA: string;
  clusterB: string;
  agentUrlA: string;
  agentUrlB: string;
  /** Singleton Deployments, `namespace/name`, one per line or comma. */
  singletons: string;
  preferredSide: Side;
}

export const EMPTY_PAIR_DRAFT: PairDraft = {
  clusterA: '',
  clusterB: '',
  agentUrlA: '',
  agentUrlB: '',
  singletons: '',
  preferredSide: 'a',
};

/** The sides' cluster names: as typed, or derived from the pair's name. */
export function sideNames(pairName: string, draft: PairDraft): Record<Side, string> {
  return {
    a: draft.clusterA.trim() || `${pairName.trim()}-a`,
    b: draft.clusterB.trim() || `${pairName.trim()}-b`,
  };
}

export type PairDraftProblems = Partial<
  Record<'name' | 'clusterA' | 'clusterB' | 'agentUrlA' | 'agentUrlB' | 'singletons', string>
>;

/**
 * What is wrong with the pair part of the form, checked against the cluster request's schema (the
 * sides' names) and the pair request's (its name, agent URLs, singletons): one source with wfm.
 */
export function pairDraftProblems(
  pairName: string,
  draft: PairDraft,
  clusterSchema: JsonSchema | undefined,
  pairSchema: JsonSchema | undefined,
): PairDraftProblems {
  const names = sideNames(pairName, draft);
  const singletons = parseSingletons(draft.singletons, draft.preferredSide);
  const clusterName = clusterSchema?.properties?.['name'];
  const problems: PairDraftProblems = {
    name: checkField(pairSchema, 'name', pairName),
    clusterA: fieldProblem(clusterName, names.a),
    clusterB: fieldProblem(clusterName, names.b) ?? (names.a === names.b ? 'must differ from side a' : undefined),
    agentUrlA: checkField(pairSchema, 'sides.a.agentUrl', draft.agentUrlA, { optional: true }),
    agentUrlB: checkField(pairSchema, 'sides.b.agentUrl', draft.agentUrlB, { optional: true }),
    singletons:
      typeof singletons === 'string'
        ? singletons
        : singletons.length === 0
          ? 'at least one Deployment, namespace/name'
          : singletons
              .map(
                (s) =>
                  checkField(pairSchema, 'singletons[].namespace', s.namespace) ??
                  checkField(pairSchema, 'singletons[].name', s.name),
              )
              .find((p) => p !== undefined),
  };
  return Object.fromEntries(Object.entries(problems).filter(([, p]) => p !== undefined));
}

/** The pair's declaration once both sides exist (each singleton preferring the pair's preferred side). */
export function pairDeclaration(
  pairName: string,
  draft: PairDraft,
  clusterIds: Record<Side, string>,
): PairCreateRequest {
  const agentUrl = (url: string) => (url.trim() ? { agentUrl: url.trim() } : {});
  const singletons = parseSingletons(draft.singletons, draft.preferredSide);
  return {
    name: pairName.trim(),
    sides: {
      a: { clusterId: clusterIds.a, ...agentUrl(draft.agentUrlA) },
      b: { clusterId: clusterIds.b, ...agentUrl(draft.agentUrlB) },
    },
    singletons: typeof singletons === 'string' ? [] : singletons,
    preferredSide: draft.preferredSide,
  };
}
