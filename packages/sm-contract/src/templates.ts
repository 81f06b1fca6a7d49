/** How a cluster create uses a cluster template. */
import Type, { type Static } from 'typebox';
import { AddonInstall } from './addons.js';

/** A cluster template used by a cluster create: which version, and its addons as the create workflow installs them. */
export const TemplateUse = Type.Object({
  id: Type.String({ maxLength: 64 }), version: Type.Integer(),
  addons: Type.Array(Type.Intersect([Type.Object({ name: Type.String() }), AddonInstall]), { maxItems: 64 }),
});
export type TemplateUse = Static<typeof TemplateUse>;
