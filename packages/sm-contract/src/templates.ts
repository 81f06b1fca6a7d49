/** How a cluster create uses a cluster template. */
import Type, { type Static } from 'typebox';
import type { ClusterTemplate, TemplateAddon } from '@cx/api-schemas';

/** A cluster template used by a cluster create: which one, at which version (its addons come with the create's own, CreateClusterBody.addons). */
export const TemplateUse = Type.Object({
  id: Type.String({ maxLength: 64 }),
  version: Type.Integer(),
});
export type TemplateUse = Static<typeof TemplateUse>;

/** A template with every addon setting, secrets included (GET /cluster-templates/{id}/reveal): for completing a cluster request only, never for the public API. */
export type RevealedTemplate = Omit<ClusterTemplate, 'addons'> & { addons: Array<Required<TemplateAddon>> };
