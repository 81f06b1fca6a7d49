/** Cluster addons: the catalog cx installs from, and what is installed in a cluster. */
import Type, { type Static } from 'typebox';
import { refParamSchema } from './common.js';

export const ADDON_STATUSES = ['Installing', 'Installed', 'Removing', 'Failed'] as const;
export type AddonStatus = (typeof ADDON_STATUSES)[number];

export const addonCatalogEntrySchema = Type.Object({
  name: Type.String(),
  version: Type.String({ description: 'The pinned upstream release whose images the addon runs' }),
  description: Type.String(),
  settingsSchema: Type.Optional(
    Type.Unsafe<Record<string, unknown>>({
      type: 'object',
      additionalProperties: true,
      description: 'JSON schema of the settings; absent when the addon takes none',
    }),
  ),
  secretSettings: Type.Optional(Type.Array(Type.String(), { description: 'Settings kept sealed and never answered' })),
});
export type AddonCatalogEntry = Static<typeof addonCatalogEntrySchema>;

export const clusterAddonSchema = Type.Object({
  name: Type.String(),
  version: Type.String(),
  settings: Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    additionalProperties: true,
    description: 'The settings, defaults filled in; secret settings are left out',
  }),
  secretSettings: Type.Optional(
    Type.Array(Type.String(), { description: 'Secret settings that are set (their values are never answered)' }),
  ),
  status: Type.Unsafe<AddonStatus>({ type: 'string', enum: ADDON_STATUSES }),
  message: Type.Optional(
    Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'Why the last install or removal failed' }),
  ),
  workflowId: Type.Optional(
    Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'The last install or removal workflow' }),
  ),
  installedAt: Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'date-time' }),
  createdBy: Type.Optional(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type ClusterAddon = Static<typeof clusterAddonSchema>;

export const addonInstallRequestSchema = Type.Object(
  {
    settings: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({
        type: 'object',
        description: "The addon's settings (GET /api/v1/addons gives each addon's schema)",
      }),
    ),
    readyTimeoutSeconds: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 3600,
        default: 600,
        description:
          "How long the install waits for the addon's Deployments and DaemonSets to be ready before the workflow fails (reason AddonNotReady)",
      }),
    ),
  },
  { additionalProperties: false },
);
export type AddonInstallRequest = Static<typeof addonInstallRequestSchema>;

export const addonParamsSchema = Type.Object(
  {
    id: refParamSchema,
    name: Type.String({ minLength: 1, maxLength: 63 }),
  },
  { additionalProperties: false },
);
