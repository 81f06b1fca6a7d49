/** The template a cluster was created from, as the cluster records it (apart, so that clusters.ts and templates.ts need not import each other). */
import Type, { type Static } from 'typebox';
import { Nullable } from './common.js';

/** A cluster's record of the template it was created from, as that template was then. */
export const clusterTemplateRefSchema = Nullable(
  Type.Object({ id: Type.String(), name: Type.String(), version: Type.Integer() }),
  { description: 'The cluster template the cluster was created from, at the version it had then; null when none' },
);
export type ClusterTemplateRef = NonNullable<Static<typeof clusterTemplateRefSchema>>;
