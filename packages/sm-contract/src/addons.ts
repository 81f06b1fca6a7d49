/** A cluster's addons as wfm asks sm to record them and the workflows that apply them read them back. */
import Type, { type Static } from 'typebox';
import { JsonObject } from './schema.js';
import { StartRequest } from './runs.js';

/** What wfm asks to install: the catalog's version and the checked settings, split into visible and secret. */
export const AddonInstall = Type.Object({
  version: Type.String({ maxLength: 64 }),
  settings: JsonObject,
  secrets: JsonObject,
});
export type AddonInstall = Static<typeof AddonInstall>;

/** An addon a cluster create installs (its template's and its request's, checked by wfm): recorded Installing with the create run. */
export const CreateAddon = Type.Intersect([Type.Object({ name: Type.String({ maxLength: 63 }) }), AddonInstall]);
export type CreateAddon = Static<typeof CreateAddon>;
export const CreateAddons = Type.Array(CreateAddon, { maxItems: 64 });

/** An addon with every setting, secrets included: for the workflow that applies it, never for the public API. */
export const RevealedAddon = Type.Object({ name: Type.String(), version: Type.String(), settings: JsonObject });
export type RevealedAddon = Static<typeof RevealedAddon>;

/** POST /clusters/{id}/addons/{name}/install: the addon is recorded with the workflow that installs it. */
export const InstallAddonBody = Type.Object({ start: StartRequest, addon: AddonInstall });
export type InstallAddonBody = Static<typeof InstallAddonBody>;
