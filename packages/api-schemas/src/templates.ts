/**
 * Cluster templates: presets of a cluster request (provider, Kubernetes version, control plane,
 * pools, health policy) and the addons to install, kept by admins and used by everyone with
 * `POST /api/v1/clusters {"name": …, "template": …}`. The presets reuse the cluster request's own
 * property schemas, so a template can hold nothing a cluster request could not.
 */
import { clusterCreateRequestSchema, type ClusterCreateRequest } from './clusters.js';
import { DNS1123_LABEL } from './common.js';

/** What of a cluster request a template may preset. Not `name` (unique per cluster) nor `resourceGroup` (where a cluster goes decides who may create it). */
export const TEMPLATE_PRESETS = [
  'provider',
  'kubernetesVersion',
  'controlPlane',
  'nodePools',
  'health',
  'hostCleanup',
] as const;
export type TemplatePreset = (typeof TEMPLATE_PRESETS)[number];
export const MAX_TEMPLATE_ADDONS = 16;

export interface TemplateAddon {
  name: string;
  settings?: Record<string, unknown>;
}
export type ClusterTemplatePresets = Partial<Pick<ClusterCreateRequest, TemplatePreset>>;
export interface ClusterTemplateCreateRequest extends ClusterTemplatePresets {
  name: string;
  description?: string;
  addons?: TemplateAddon[];
}
export interface ClusterTemplatePatchRequest extends ClusterTemplatePresets {
  version: number;
  name?: string;
  description?: string;
  addons?: TemplateAddon[];
  unset?: Array<TemplatePreset | 'description'>;
}
export interface ClusterTemplate extends ClusterTemplatePresets {
  id: string;
  name: string;
  description: string | null;
  addons: Array<{ name: string; settings: Record<string, unknown>; secretSettings: string[] }>;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}
/** The presets `source` holds (a template, a request), and nothing else. */
export function templatePresets(source: ClusterTemplatePresets): ClusterTemplatePresets {
  return Object.fromEntries(
    TEMPLATE_PRESETS.filter((key) => source[key] !== undefined).map((key) => [key, source[key]]),
  );
}

/** The body of `POST /api/v1/clusters`: a cluster request, whole or completed by a template. */
export type ClusterCreateBody = Partial<ClusterCreateRequest> & { name: string; template?: string };

interface CreateRequestSchema {
  properties: Record<TemplatePreset | 'name', object> & { nodePools: { default?: unknown } };
}

/** The wire schemas of templates, from the cluster request schema and the DNS-1123 label pattern. */
export function clusterTemplateSchemas<S extends CreateRequestSchema>(create: S, dnsLabel: string) {
  // A default here would fill in `nodePools: []`, which would then replace the template's pools.
  const { default: _noDefault, ...nodePools } = create.properties.nodePools;
  const presets = {
    provider: create.properties.provider,
    kubernetesVersion: create.properties.kubernetesVersion,
    controlPlane: create.properties.controlPlane,
    nodePools,
    health: create.properties.health,
    hostCleanup: create.properties.hostCleanup,
  };
  const addonItem = {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: {
        type: 'string',
        pattern: dnsLabel,
        minLength: 1,
        maxLength: 63,
        description: 'An addon of the catalog (GET /api/v1/addons)',
      },
      settings: {
        type: 'object',
        description:
          "Its settings, checked against the addon's schema; secret ones (the log-forwarding token) are stored sealed and never answered",
      },
    },
  } as const;
  const addons = {
    type: 'array',
    maxItems: MAX_TEMPLATE_ADDONS,
    items: addonItem,
    description:
      'Addons installed into every cluster created from the template, once its nodes are Ready and before it is marked Ready',
  } as const;
  const name = {
    type: 'string',
    pattern: dnsLabel,
    minLength: 1,
    maxLength: 63,
    description: 'DNS-1123 label, unique among templates',
  } as const;
  const description = { type: 'string', maxLength: 1024 } as const;

  const clusterTemplateCreateRequestSchema = {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    description:
      "Every preset is optional; a cluster request naming the template gives the rest, and its own fields replace the template's (pools as a whole).",
    properties: { name, description, ...presets, addons },
  } as const;

  const clusterTemplatePatchRequestSchema = {
    type: 'object',
    additionalProperties: false,
    required: ['version'],
    minProperties: 2,
    description:
      "Each field given replaces the template's (pools and addons as a whole); `unset` removes presets. `version` must be the template's current one (409 CX_VERSION_CONFLICT otherwise).",
    properties: {
      version: { type: 'integer', minimum: 1, description: 'The version of the template this change was made against' },
      name,
      description,
      ...presets,
      addons,
      unset: {
        type: 'array',
        uniqueItems: true,
        maxItems: TEMPLATE_PRESETS.length + 1,
        items: { type: 'string', enum: [...TEMPLATE_PRESETS, 'description'] },
        description: 'Presets to remove',
      },
    },
  } as const;

  const clusterTemplateSchema = {
    type: 'object',
    required: ['id', 'name', 'description', 'addons', 'createdAt', 'updatedAt', 'version'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      description: { type: ['string', 'null'] },
      ...presets,
      addons: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'settings', 'secretSettings'],
          properties: {
            name: { type: 'string' },
            settings: { type: 'object', additionalProperties: true },
            secretSettings: {
              type: 'array',
              items: { type: 'string' },
              description: 'Secret settings that are set (never answered)',
            },
          },
        },
      },
      createdBy: { type: 'string' },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      version: {
        type: 'integer',
        description: 'Grows with every change; a PATCH names the version it was made against',
      },
    },
  } as const;

  /** `POST /api/v1/clusters`: with `template`, only `name` is needed; the request completed by the template is then validated as a whole. */
  const clusterCreateBodySchema = {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    description:
      "A cluster request. Without `template`, provider, kubernetesVersion and controlPlane are required. With it, the template gives what the request leaves out (each field of the request replaces the template's, node pools as a whole) and the result is validated like any cluster request.",
    properties: {
      ...create.properties,
      nodePools,
      template: {
        type: 'string',
        minLength: 1,
        maxLength: 64,
        description: 'Id or name of a cluster template (GET /api/v1/cluster-templates)',
      },
    },
  } as const;

  return {
    clusterTemplateCreateRequestSchema,
    clusterTemplatePatchRequestSchema,
    clusterTemplateSchema,
    clusterCreateBodySchema,
  };
}

/** Cluster templates' wire schemas, built from the cluster request's own property schemas. */
export const {
  clusterTemplateCreateRequestSchema,
  clusterTemplatePatchRequestSchema,
  clusterTemplateSchema,
  clusterCreateBodySchema,
} = clusterTemplateSchemas(clusterCreateRequestSchema, DNS1123_LABEL);
