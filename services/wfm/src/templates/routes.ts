/**
 * Cluster templates (docs/cluster-templates.md): presets of a cluster request and the addons to
 * install, which admins keep and every signed-in user reads and creates clusters from. A
 * template's addons are checked against the catalog when it is saved and again when a cluster is
 * created from it (cx may have been upgraded since, the request may change the provider); a
 * cluster request naming a template is completed by it and then validated as a whole, with the
 * schema and validator of any cluster request, so a template lets through nothing a direct request
 * could not.
 */
import { lookup } from 'node:dns/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  clusterCreateRequestSchema,
  clusterTemplateCreateRequestSchema,
  clusterTemplatePatchRequestSchema,
  clusterTemplateSchema,
  refParamsSchema,
  listQuerySchema,
  listSchema,
  templatePresets,
  type ClusterCreateBody,
  type ClusterCreateRequest,
  type ClusterTemplate,
  type ClusterTemplateCreateRequest,
  type ClusterTemplatePatchRequest,
  type ProviderInfo,
  type TemplateAddon,
} from '@cx/api-schemas';
import { CxError, InputError, NotFoundError, type FieldError } from '@cx/errors';
import {
  ADDONS,
  checkAddonSettings,
  findAddon,
  splitSecretSettings,
  type AddonDefinition,
  type EgressPolicy,
} from '@cx/k8s';
import { globalRole } from '../http/access-guard.js';
import { can } from '../infrastructure/capabilities.js';
import { problemResponses as errors, queryOf, relayToSm } from '../http/responses.js';
import type { WorkflowDefinition } from '../engine.js';
import type { CreateAddon, RevealedTemplate, SmClient, StartRequest } from '@cx/sm-contract';
import { startRequest } from '../http/workflow-start.js';

export interface TemplateRouteDeps {
  sm: SmClient;
  egress: EgressPolicy;
  providers: () => Promise<ProviderInfo[]>;
}

interface CheckedAddon {
  addon: AddonDefinition;
  settings: Record<string, unknown>;
}

const admin = globalRole('admin');
const noContent = { 204: { type: 'null', description: 'Done' } };

/** Why `addon` cannot go into a cluster of `provider`, if it cannot. */
function unsupportedOn(
  addon: AddonDefinition,
  provider: string,
  providers: readonly ProviderInfo[],
): string | undefined {
  // A provider whose clusters run no Kubernetes API (sim) has nothing to install an addon into; one
  // that no sddc advertises now is judged again when a cluster is created from the template.
  const advertised = providers.find((p) => p.name === provider);
  if (advertised && !can(advertised, 'kubernetesApi'))
    return `cannot be installed on provider ${provider}, whose clusters run no Kubernetes API`;
  const reason = addon.unsupported?.({ id: '', name: '', provider, kubernetesVersion: '' });
  return reason === undefined ? undefined : `cannot be installed on provider ${provider}: ${reason}`;
}

/**
 * Checks addons against the catalog, naming every error under `field` (`body.addons.1.settings.replicas`):
 * not in the catalog, listed twice, settings the addon's schema refuses, a provider it cannot serve.
 * Answers them with their settings' defaults filled in, or the errors.
 */
function checkAddons(
  addons: readonly TemplateAddon[],
  provider: string | undefined,
  field: string,
  providers: readonly ProviderInfo[],
): { checked: CheckedAddon[]; errors: FieldError[] } {
  const checked: CheckedAddon[] = [];
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of addons.entries()) {
    const at = `${field}.${i}`;
    const addon = findAddon(entry.name);
    if (!addon) {
      errors.push({
        field: `${at}.name`,
        message: `is not an addon of the catalog (available: ${ADDONS.map((a) => a.name).join(', ')})`,
      });
      continue;
    }
    if (seen.has(addon.name)) errors.push({ field: `${at}.name`, message: 'is listed twice' });
    const network =
      addon.stage === 'network'
        ? [...seen].find((name) => findAddon(name)?.stage === 'network' && name !== addon.name)
        : undefined;
    if (network)
      errors.push({
        field: `${at}.name`,
        message: `is a second pod network (CNI) beside ${network}; a cluster runs one`,
      });
    seen.add(addon.name);
    const unsupported = provider === undefined ? undefined : unsupportedOn(addon, provider, providers);
    if (unsupported) errors.push({ field: `${at}.name`, message: unsupported });
    const check = checkAddonSettings(addon, entry.settings, `${at}.settings`);
    if (check.ok) checked.push({ addon, settings: check.settings });
    else errors.push(...check.errors);
  }
  return { checked, errors };
}

/** The first endpoint setting the egress policy refuses (SSRF), with the field it goes by. */
async function refusedEndpoint(
  egress: EgressPolicy,
  checked: readonly CheckedAddon[],
  field: string,
): Promise<{ field: string; reason: string; message: string } | undefined> {
  for (const [i, { addon, settings }] of checked.entries()) {
    for (const setting of addon.endpointSettings ?? []) {
      const url = settings[setting];
      if (typeof url !== 'string') continue;
      const verdict = await egress.check(url, async (host) =>
        (await lookup(host, { all: true })).map((a) => a.address),
      );
      if (!verdict.allowed)
        return {
          field: `${field}.${i}.settings.${setting}`,
          reason: verdict.reason,
          message: `the ${setting} of addon ${addon.name} is refused by the egress policy: ${verdict.reason}`,
        };
    }
  }
  return undefined;
}

/** A template's addons as sm stores them: checked, as the admin gave them (defaults stay the catalog's), secrets split off. */
async function addonsToStore(
  deps: TemplateRouteDeps,
  addons: readonly TemplateAddon[],
  provider: string | undefined,
): Promise<Array<{ name: string; settings: Record<string, unknown>; secrets: Record<string, unknown> }>> {
  const { checked, errors: invalid } = checkAddons(addons, provider, 'body.addons', await deps.providers());
  if (invalid.length > 0)
    throw new InputError(`invalid addons: ${invalid.map((e) => `${e.field} ${e.message}`).join('; ')}`, invalid);
  const refused = await refusedEndpoint(deps.egress, checked, 'body.addons');
  if (refused)
    throw new CxError('CX_ENDPOINT_NOT_ALLOWED', refused.message, {
      details: { fields: [{ field: refused.field, message: refused.reason }] },
    });
  return checked.map(({ addon }, i) => {
    const { visible, secrets } = splitSecretSettings(addon, addons[i]!.settings ?? {});
    return { name: addon.name, settings: visible, secrets };
  });
}

export async function templateRoutes(app: FastifyInstance, deps: TemplateRouteDeps): Promise<void> {
  const { sm } = deps;
  const id = (request: FastifyRequest): string => encodeURIComponent((request.params as { id: string }).id);

  app.get(
    '/cluster-templates',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['cluster-templates'],
        summary: 'List the cluster templates (every signed-in user)',
        querystring: listQuerySchema,
        response: { 200: listSchema(clusterTemplateSchema), ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/cluster-templates?${queryOf(request)}`),
  );

  app.post<{ Body: ClusterTemplateCreateRequest }>(
    '/cluster-templates',
    {
      config: { access: admin },
      schema: {
        tags: ['cluster-templates'],
        body: clusterTemplateCreateRequestSchema,
        response: { 201: clusterTemplateSchema, ...errors, 422: { $ref: 'Problem#' } },
        summary: 'Create a cluster template (admin)',
        description:
          'Refused with nothing stored: an addon not in the catalog, listed twice, with settings its schema refuses, or that the preset provider cannot serve (400, every error listed under body.addons.N…); an endpoint the egress policy refuses (422); a name in use (409 CX_NAME_TAKEN). The provider and Kubernetes version are checked, with the rest of the request, when a cluster is created from the template.',
      },
    },
    async (request, reply) => {
      const addons = await addonsToStore(deps, request.body.addons ?? [], request.body.provider);
      return relayToSm(sm, reply, 'POST', '/cluster-templates', {
        actor: request.user!.username,
        template: { ...request.body, addons },
      });
    },
  );

  app.get(
    '/cluster-templates/:id',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['cluster-templates'],
        summary:
          'Get a cluster template by id or name (every signed-in user); secret addon settings are never answered',
        params: refParamsSchema,
        response: { 200: clusterTemplateSchema, ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'GET', `/cluster-templates/${id(request)}`),
  );

  app.patch<{ Params: { id: string }; Body: ClusterTemplatePatchRequest }>(
    '/cluster-templates/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['cluster-templates'],
        params: refParamsSchema,
        body: clusterTemplatePatchRequestSchema,
        response: { 200: clusterTemplateSchema, ...errors, 422: { $ref: 'Problem#' } },
        summary: 'Change a cluster template (admin); `version` must be its current one',
        description:
          "Each field given replaces the template's (pools and addons as a whole, addon secrets included); `unset` removes presets. A `version` other than the current one answers 409 CX_VERSION_CONFLICT and changes nothing. Clusters created earlier keep what they were created with.",
      },
    },
    async (request, reply) => {
      const patch = request.body;
      const current = JSON.parse((await sm.relay('GET', `/cluster-templates/${id(request)}`)).text) as ClusterTemplate;
      const provider = patch.unset?.includes('provider') ? undefined : (patch.provider ?? current.provider);
      if (patch.addons) {
        return relayToSm(sm, reply, 'PATCH', `/cluster-templates/${id(request)}`, {
          patch: { ...patch, addons: await addonsToStore(deps, patch.addons, provider) },
        });
      }
      // The addons stay: they must suit a new provider too.
      if (provider !== undefined && provider !== current.provider) {
        const providers = await deps.providers();
        const unsuited = current.addons.flatMap(({ name }) => {
          const addon = findAddon(name);
          const reason = addon && unsupportedOn(addon, provider, providers);
          return reason ? [`addon ${name} ${reason}`] : [];
        });
        if (unsuited.length > 0)
          throw new InputError(
            `the template's addons do not suit provider ${provider}: ${unsuited.join('; ')}`,
            unsuited.map((message) => ({ field: 'body.provider', message })),
          );
      }
      return relayToSm(sm, reply, 'PATCH', `/cluster-templates/${id(request)}`, { patch });
    },
  );

  app.delete(
    '/cluster-templates/:id',
    {
      config: { access: admin },
      schema: {
        tags: ['cluster-templates'],
        summary: 'Delete a cluster template (admin); clusters created from it keep what it gave them',
        params: refParamsSchema,
        response: { ...noContent, ...errors },
      },
    },
    async (request, reply) => relayToSm(sm, reply, 'DELETE', `/cluster-templates/${id(request)}`),
  );
}

// ---- creating a cluster from a template -----------------------------------------------------------

/**
 * The cluster request of `POST /clusters`: the body, completed by the template it names (each
 * field of the body replaces the template's, node pools as a whole), validated as a whole with the
 * cluster request's schema by the route's own validator, so that errors read as for any request.
 */
export async function completeClusterRequest(
  request: FastifyRequest<{ Body: ClusterCreateBody }>,
  sm: SmClient,
): Promise<{ request: ClusterCreateRequest; template?: RevealedTemplate; addons: TemplateAddon[] }> {
  // The addons are not part of the cluster's spec: the create workflow installs them (createAddons).
  const { template: name, addons = [], ...own } = request.body;
  const template = name === undefined ? undefined : await revealTemplate(sm, name);
  const merged: unknown = structuredClone({ ...(template ? templatePresets(template) : {}), ...own });
  const validate = request.compileValidationSchema(clusterCreateRequestSchema, 'body');
  // Thrown as fastify throws a failed validation, so that the error handler names the fields alike.
  if (!validate(merged))
    throw Object.assign(new Error('invalid cluster request'), {
      validation: validate.errors,
      validationContext: 'body',
    });
  return { request: merged as ClusterCreateRequest, ...(template ? { template } : {}), addons };
}

async function revealTemplate(sm: SmClient, name: string): Promise<RevealedTemplate> {
  try {
    return JSON.parse(
      (await sm.relay('GET', `/cluster-templates/${encodeURIComponent(name)}/reveal`)).text,
    ) as RevealedTemplate;
  } catch (error) {
    if ((error as { code?: string }).code !== 'CX_NOT_FOUND') throw error;
    throw new NotFoundError(`there is no cluster template ${name}; GET /api/v1/cluster-templates lists them`, {
      details: { fields: [{ field: 'body.template', message: 'is not a cluster template' }] },
    });
  }
}

/**
 * The addons a cluster create installs: its template's and its request's own, merged by name (an
 * addon both name is installed with the request's settings), checked again against the catalog
 * and the provider (the catalog may have changed since the template was saved; the request may
 * name another provider) and split as sm records them. An error in the request's own addons goes
 * by its field (`body.addons.1.name`); one in the template's by `body.template`, the field that
 * brought it in.
 */
export async function createAddons(
  template: RevealedTemplate | undefined,
  own: readonly TemplateAddon[],
  request: ClusterCreateRequest,
  egress: EgressPolicy,
  providers: readonly ProviderInfo[],
): Promise<CreateAddon[]> {
  const ownNames = new Set(own.map((a) => a.name));
  const inherited = (template?.addons ?? []).filter((a) => !ownNames.has(a.name));
  const all = [...inherited, ...own];
  /** `addons.3.settings.x` of the merged list, as the field of the request that brought it in. */
  const locate = (field: string, message: string): FieldError => {
    const [, index = '0', rest = ''] = /^addons\.(\d+)(.*)$/.exec(field) ?? [];
    const i = Number(index);
    return i < inherited.length
      ? { field: 'body.template', message: `addon ${inherited[i]!.name}${rest} ${message}` }
      : { field: `body.addons.${i - inherited.length}${rest}`, message };
  };
  const { checked, errors: invalid } = checkAddons(all, request.provider, 'addons', providers);
  if (invalid.length > 0) {
    const fields = invalid.map((e) => locate(e.field, e.message));
    const summary = fields.map((f) => (f.field === 'body.template' ? f.message : `${f.field} ${f.message}`)).join('; ');
    throw new InputError(
      template && fields.every((f) => f.field === 'body.template')
        ? `cluster template ${template.name} cannot be used for this cluster: ${summary}`
        : `the cluster's addons cannot be installed: ${summary}`,
      fields,
    );
  }
  const refused = await refusedEndpoint(egress, checked, 'addons');
  if (refused) {
    const field = locate(refused.field, refused.reason);
    const from = field.field === 'body.template' && template ? `cluster template ${template.name}: ` : '';
    throw new CxError('CX_ENDPOINT_NOT_ALLOWED', `${from}${refused.message}`, { details: { fields: [field] } });
  }
  return checked.map(({ addon, settings }) => {
    const { visible, secrets } = splitSecretSettings(addon, settings);
    return { name: addon.name, version: addon.version, settings: visible, secrets };
  });
}

/**
 * The start of cluster.create: with the addons it installs in its input, and only the addon steps
 * they need (none without addons, so that a cluster created without any runs the steps it always has).
 */
export function createClusterStart(
  request: FastifyRequest,
  definition: WorkflowDefinition,
  addons: readonly CreateAddon[],
): StartRequest {
  const names = addons.map((a) => a.name);
  // startRequest keeps the addon steps these addons need (their `when`, workflows/template-addons.ts).
  return startRequest(request, definition, 'Provisioning', names.length > 0 ? { addons: names } : {});
}
