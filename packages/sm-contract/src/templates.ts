/** How a cluster create uses a cluster template. */
import Type, { type Static } from 'typebox';
import type { ClusterTemplate, TemplateAddon } from '@cx/api-schemas';
import { AddonInstall } from './addons.js';

/** A cluster template used by a cluster create: which version, and its addons as the create workflow installs them. */
export const TemplateUse = Type.Object({
  id: Type.String({ maxLength: 64 }),
  version: Type.Integer(),
  addons: Type.Array(Type.Intersect([Type.Object({ name: Type.String() }), AddonInstall]), { maxItems: 64 }),
});
export type TemplateUse = Static<typeof TemplateUse>;

/** A template with every addon setting, secrets included (GET /cluster-templates/{id}/reveal): for completing a cluster request only, never for the public API. */
export type RevealedTemplate = Omit<ClusterTemplate, 'addons'> & { addons: Array<Required<TemplateAddon>> };
