/**
 * Cluster templates: presets of a cluster request (provider, Kubernetes version, control plane,
 * pools, health policy) and the addons to install, kept by admins and used by everyone with
 * `POST /api/v1/clusters {"name": …, "template": …}`. The presets reuse the cluster request's own
 * property schemas, so a template can hold nothing a cluster request could not.
 */
import Type, { type Static } from 'typebox';
import { clusterCreateRequestSchema, type ClusterCreateRequest } from './clusters.js';
import { DNS1123_LABEL, FreeObject, MAX_POOLS, NullableString } from './common.js';

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

/** The wire schemas of templates, from the cluster request schema and the DNS-1123 label pattern. */
export function clusterTemplateSchemas(create: typeof clusterCreateRequestSchema, dnsLabel: string) {
  const presets = {
    provider: Type.Optional(create.properties.provider),
    kubernetesVersion: Type.Optional(create.properties.kubernetesVersion),
    controlPlane: Type.Optional(create.properties.controlPlane),
    // Without the request's default, which would fill in `nodePools: []` and so replace the template's pools.
    nodePools: Type.Optional(Type.Array(create.properties.nodePools.items, { maxItems: MAX_POOLS })),
    health: create.properties.health,
    hostCleanup: create.properties.hostCleanup,
  };
  const addonItem = Type.Object(
    {
      name: Type.String({
        pattern: dnsLabel,
        minLength: 1,
        maxLength: 63,
        description: 'An addon of the catalog (GET /api/v1/addons)',
      }),
      settings: Type.Optional(
        FreeObject({
          description:
            "Its settings, checked against the addon's schema; secret ones (the log-forwarding token) are stored sealed and never answered",
        }),
      ),
    },
    { additionalProperties: false },
  );
  const addons = Type.Optional(
    Type.Array(addonItem, {
      maxItems: MAX_TEMPLATE_ADDONS,
      description:
        'Addons installed into every cluster created from the template, once its nodes are Ready and before it is marked Ready',
    }),
  );
  const clusterAddons = Type.Optional(
    Type.Array(addonItem, {
      maxItems: MAX_TEMPLATE_ADDONS,
      description:
        "Addons the create workflow installs (a pod network before the nodes are awaited, the others before the cluster is marked Ready). With `template`, added to the template's addons; an addon both name is installed with the request's settings",
    }),
  );
  const name = Type.String({
    pattern: dnsLabel,
    minLength: 1,
    maxLength: 63,
    description: 'DNS-1123 label, unique among templates',
  });
  const description = Type.Optional(Type.String({ maxLength: 1024 }));

  const clusterTemplateCreateRequestSchema = Type.Object(
    { name, description, ...presets, addons },
    {
      additionalProperties: false,
      description:
        "Every preset is optional; a cluster request naming the template gives the rest, and its own fields replace the template's (pools as a whole).",
    },
  );

  const clusterTemplatePatchRequestSchema = Type.Object(
    {
      version: Type.Integer({
        minimum: 1,
        description: 'The version of the template this change was made against',
      }),
      name: Type.Optional(name),
      description,
      ...presets,
      addons,
      unset: Type.Optional(
        Type.Array(Type.Enum([...TEMPLATE_PRESETS, 'description'], { type: 'string' }), {
          uniqueItems: true,
          maxItems: TEMPLATE_PRESETS.length + 1,
          description: 'Presets to remove',
        }),
      ),
    },
    {
      additionalProperties: false,
      minProperties: 2,
      description:
        "Each field given replaces the template's (pools and addons as a whole); `unset` removes presets. `version` must be the template's current one (409 CX_VERSION_CONFLICT otherwise).",
    },
  );

  const clusterTemplateSchema = Type.Object({
    id: Type.String(),
    name: Type.String(),
    description: NullableString(),
    ...presets,
    addons: Type.Array(
      Type.Object({
        name: Type.String(),
        settings: FreeObject({ additionalProperties: true }),
        secretSettings: Type.Array(Type.String(), { description: 'Secret settings that are set (never answered)' }),
      }),
    ),
    createdBy: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    version: Type.Integer({
      description: 'Grows with every change; a PATCH names the version it was made against',
    }),
  });

  /** `POST /api/v1/clusters`: with `template`, only `name` is needed; the request completed by the template is then validated as a whole. */
  const clusterCreateBodySchema = Type.Object(
    {
      ...create.properties,
      ...presets,
      addons: clusterAddons,
      template: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 64,
          description: 'Id or name of a cluster template (GET /api/v1/cluster-templates)',
        }),
      ),
    },
    {
      additionalProperties: false,
      description:
        "A cluster request. Without `template`, provider, kubernetesVersion and controlPlane are required. With it, the template gives what the request leaves out (each field of the request replaces the template's, node pools as a whole) and the result is validated like any cluster request. `addons` are the exception: they are added to the template's, the request's settings winning for an addon both name.",
    },
  );

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

export type ClusterTemplatePresets = Partial<Pick<ClusterCreateRequest, TemplatePreset>>;
export type ClusterTemplateCreateRequest = Static<typeof clusterTemplateCreateRequestSchema>;
/** An addon as a template or a cluster create request names it: a catalog name and its settings. */
export type TemplateAddon = NonNullable<ClusterTemplateCreateRequest['addons']>[number];
export type ClusterTemplatePatchRequest = Static<typeof clusterTemplatePatchRequestSchema>;
export type ClusterTemplate = Static<typeof clusterTemplateSchema>;
/** The body of `POST /api/v1/clusters`: a cluster request, whole or completed by a template. */
export type ClusterCreateBody = Static<typeof clusterCreateBodySchema>;

/** The presets `source` holds (a template, a request), and nothing else. */
export function templatePresets(source: ClusterTemplatePresets): ClusterTemplatePresets {
  return Object.fromEntries(
    TEMPLATE_PRESETS.filter((key) => source[key] !== undefined).map((key) => [key, source[key]]),
  );
}
