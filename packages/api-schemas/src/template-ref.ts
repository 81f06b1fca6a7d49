/** The template a cluster was created from, as the cluster records it (apart, so that clusters.ts and templates.ts need not import each other). */

/** A cluster's record of the template it was created from, as that template was then. */
export const clusterTemplateRefSchema = {
  type: ['object', 'null'],
  description: 'The cluster template the cluster was created from, at the version it had then; null when none',
  properties: { id: { type: 'string' }, name: { type: 'string' }, version: { type: 'integer' } },
} as const;
export interface ClusterTemplateRef {
  id: string;
  name: string;
  version: number;
}
