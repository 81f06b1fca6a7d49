/// <reference types="node" />
/** The wizard's pair: the sides' names, what the form is missing, the declaration sent once both sides exist. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_PAIR_DRAFT, pairDeclaration, pairDraftProblems, sideNames } from './pair-wizard.js';
import type { JsonSchema } from './schema.js';

const label: JsonSchema = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', minLength: 1, maxLength: 40 };
const clusterSchema: JsonSchema = { properties: { name: label } };
const pairSchema: JsonSchema = {
  properties: {
    name: { ...label, maxLength: 63 },
    sides: {
      properties: {
        a: { properties: { agentUrl: { type: 'string', pattern: '^https?://' } } },
        b: { properties: { agentUrl: { type: 'string', pattern: '^https?://' } } },
      },
    },
    singletons: { items: { properties: { namespace: label, name: { ...label, maxLength: 253 } } } },
  },
};

describe('the wizard’s two-node pair', () => {
  it('names the sides after the pair unless they are typed', () => {
    assert.deepEqual(sideNames('edge', EMPTY_PAIR_DRAFT), { a: 'edge-a', b: 'edge-b' });
    assert.deepEqual(sideNames('edge', { ...EMPTY_PAIR_DRAFT, clusterB: ' far ' }), { a: 'edge-a', b: 'far' });
  });

  it('says what is missing or wrong, field by field, against the request schemas', () => {
    const good = { ...EMPTY_PAIR_DRAFT, singletons: 'apps/db' };
    assert.deepEqual(pairDraftProblems('edge', good, clusterSchema, pairSchema), {});
    assert.deepEqual(Object.keys(pairDraftProblems('edge', EMPTY_PAIR_DRAFT, clusterSchema, pairSchema)), [
      'singletons',
    ]);
    const bad = pairDraftProblems(
      'Edge',
      { ...good, clusterA: 'same', clusterB: 'same', agentUrlA: 'ftp://x', singletons: 'apps' },
      clusterSchema,
      pairSchema,
    );
    assert.deepEqual(Object.keys(bad).sort(), ['agentUrlA', 'clusterB', 'name', 'singletons']);
    assert.equal(bad.clusterB, 'must differ from side a');
    assert.match(bad.singletons!, /not namespace\/name/);
  });

  it('declares the pair with both clusters, the optional agent URLs and the preferred side', () => {
    const draft = {
      ...EMPTY_PAIR_DRAFT,
      agentUrlB: ' http://10.0.0.2:9640 ',
      singletons: 'apps/db\napps/queue',
      preferredSide: 'b' as const,
    };
    assert.deepEqual(pairDeclaration(' edge ', draft, { a: 'id-a', b: 'id-b' }), {
      name: 'edge',
      sides: { a: { clusterId: 'id-a' }, b: { clusterId: 'id-b', agentUrl: 'http://10.0.0.2:9640' } },
      singletons: [
        { namespace: 'apps', name: 'db', preferredSide: 'b' },
        { namespace: 'apps', name: 'queue', preferredSide: 'b' },
      ],
      preferredSide: 'b',
    });
  });
});
