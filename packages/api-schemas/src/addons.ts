/** Cluster addons: the catalog cx installs from, and what is installed in a cluster. */

export const ADDON_STATUSES = ['Installing', 'Installed', 'Removing', 'Failed'] as const;
export type AddonStatus = (typeof ADDON_STATUSES)[number];

export const addonCatalogEntrySchema = {
  type: 'object', required: ['name', 'version', 'description'],
  properties: {
    name: { type: 'string' }, version: { type: 'string', description: 'The pinned upstream release whose images the addon runs' },
    description: { type: 'string' },
    settingsSchema: { type: 'object', additionalProperties: true, description: 'JSON schema of the settings; absent when the addon takes none' },
    secretSettings: { type: 'array', items: { type: 'string' }, description: 'Settings kept sealed and never answered' },
  },
} as const;
export interface AddonCatalogEntry { name: string; version: string; description: string; settingsSchema?: Record<string, unknown>; secretSettings?: string[] }

export const clusterAddonSchema = {
  type: 'object', required: ['name', 'version', 'settings', 'status', 'installedAt', 'createdAt', 'updatedAt'],
  properties: {
    name: { type: 'string' }, version: { type: 'string' },
    settings: { type: 'object', additionalProperties: true, description: 'The settings, defaults filled in; secret settings are left out' },
    secretSettings: { type: 'array', items: { type: 'string' }, description: 'Secret settings that are set (their values are never answered)' },
    status: { type: 'string', enum: ADDON_STATUSES },
    message: { type: ['string', 'null'], description: 'Why the last install or removal failed' },
    workflowId: { type: ['string', 'null'], description: 'The last install or removal workflow' },
    installedAt: { type: ['string', 'null'], format: 'date-time' },
    createdBy: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' }, updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
export interface ClusterAddon {
  name: string; version: string; settings: Record<string, unknown>; secretSettings: string[]; status: AddonStatus; message: string | null;
  workflowId: string | null; installedAt: string | null; createdBy: string; createdAt: string; updatedAt: string;
}

export const addonInstallRequestSchema = {
  type: 'object', additionalProperties: false,
  properties: {
    settings: { type: 'object', description: 'The addon\'s settings (GET /api/v1/addons gives each addon\'s schema)' },
    readyTimeoutSeconds: { type: 'integer', minimum: 10, maximum: 3600, default: 600, description: 'How long the install waits for the addon\'s Deployments and DaemonSets to be ready before the workflow fails (reason AddonNotReady)' },
  },
} as const;
export interface AddonInstallRequest { settings?: Record<string, unknown>; readyTimeoutSeconds?: number }

export const addonParamsSchema = {
  type: 'object', required: ['id', 'name'], additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 }, name: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;
