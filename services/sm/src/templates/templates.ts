/**
 * Cluster templates (docs/cluster-templates.md). wfm checks a template's addons against the catalog
 * before it comes here; sm keeps the presets and the addons' visible settings as JSON and their
 * secret settings sealed apart, and answers the secrets only to wfm creating a cluster from it
 * (`reveal`). A change names the version it was made against, so that two admins editing the same
 * template cannot silently undo each other. A cluster created from a template records its id,
 * name and version, in the transaction that creates the cluster (the addons the create workflow
 * installs are recorded beside it, clusters/routes.ts).
 */
import type { Knex } from 'knex';
import { v7 as uuidv7 } from 'uuid';
import {
  TEMPLATE_PRESETS,
  templatePresets,
  type ClusterTemplate,
  type ClusterTemplatePresets,
  type Page,
  type TemplatePreset,
} from '@cx/api-schemas';
import { ConflictError, InputError, NotFoundError } from '@cx/errors';
import { nowIso } from '@cx/service-kit';
import type { RevealedTemplate, TemplateUse } from '@cx/sm-contract';
import { isUniqueViolation, withDatabase } from '../db/database.js';
import { keysetPage } from '../db/pagination.js';
import type { SecretBox } from '../secrets/secret-box.js';

interface TemplateRow {
  id: string;
  name: string;
  description: string | null;
  spec: string;
  secret: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  version: number;
}

/** An addon of a template as wfm hands it over: checked, its settings split into visible and secret. */
export interface StoredAddon {
  name: string;
  settings: Record<string, unknown>;
  secrets: Record<string, unknown>;
}
export interface TemplateInput extends ClusterTemplatePresets {
  name: string;
  description?: string;
  addons?: StoredAddon[];
}
export interface TemplatePatch extends ClusterTemplatePresets {
  version: number;
  name?: string;
  description?: string;
  addons?: StoredAddon[];
  unset?: Array<TemplatePreset | 'description'>;
}

/** What `spec` holds: the presets and each addon with its visible settings. */
interface Spec extends ClusterTemplatePresets {
  addons: Array<{ name: string; settings: Record<string, unknown> }>;
}
type Secrets = Record<string, Record<string, unknown>>;

export class ClusterTemplates {
  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
  ) {}

  async list(limit: number, cursor: string | undefined): Promise<Page<ClusterTemplate>> {
    const { rows, nextCursor } = await keysetPage<TemplateRow>(this.db('cluster_templates'), limit, cursor);
    return { items: rows.map((row) => this.toTemplate(row)), nextCursor };
  }

  async get(idOrName: string): Promise<ClusterTemplate> {
    return this.toTemplate(await this.row(this.db, idOrName));
  }

  async reveal(idOrName: string): Promise<RevealedTemplate> {
    const row = await this.row(this.db, idOrName);
    const secrets = this.secretsOf(row);
    const template = this.toTemplate(row);
    return {
      ...template,
      addons: template.addons.map(({ name, settings }) => ({ name, settings: { ...settings, ...secrets[name] } })),
    };
  }

  async create(input: TemplateInput, actor: string): Promise<ClusterTemplate> {
    const id = uuidv7();
    const now = nowIso();
    const spec: Spec = {
      ...templatePresets(input),
      addons: (input.addons ?? []).map(({ name, settings }) => ({ name, settings })),
    };
    try {
      await withDatabase(() =>
        this.db('cluster_templates').insert({
          id,
          name: input.name,
          description: input.description ?? null,
          spec: JSON.stringify(spec),
          secret: this.seal(id, input.addons ?? []),
          created_by: actor,
          created_at: now,
          updated_at: now,
          version: 1,
        }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(input.name);
      throw error;
    }
    return this.get(id);
  }

  /** Applies a change made against `patch.version`; a template changed since answers 409 CX_VERSION_CONFLICT with nothing changed. */
  async patch(idOrName: string, patch: TemplatePatch): Promise<ClusterTemplate> {
    const clash = (patch.unset ?? []).filter((key) => patch[key] !== undefined);
    if (clash.length > 0)
      throw new InputError(
        `${clash.join(', ')} cannot be both set and unset`,
        clash.map((key) => ({ field: 'body.unset', message: `names ${key}, which the request also sets` })),
      );
    const row = await this.row(this.db, idOrName);
    if (row.version !== patch.version) throw staleVersion(row, patch.version);
    const spec = JSON.parse(row.spec) as Spec;
    let description = patch.description ?? row.description;
    for (const key of TEMPLATE_PRESETS) if (patch[key] !== undefined) Object.assign(spec, { [key]: patch[key] });
    for (const key of patch.unset ?? []) {
      if (key === 'description') description = null;
      else delete spec[key];
    }
    const changes: Record<string, unknown> = {
      name: patch.name ?? row.name,
      description,
      updated_at: nowIso(),
      version: row.version + 1,
    };
    if (patch.addons) {
      spec.addons = patch.addons.map(({ name, settings }) => ({ name, settings }));
      changes['secret'] = this.seal(row.id, patch.addons);
    }
    changes['spec'] = JSON.stringify(spec);
    try {
      const updated = await withDatabase(() =>
        this.db('cluster_templates').where({ id: row.id, version: row.version }).update(changes),
      );
      if (updated !== 1) throw staleVersion(await this.row(this.db, row.id), patch.version);
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(patch.name ?? row.name);
      throw error;
    }
    return this.get(row.id);
  }

  /** Clusters created from the template keep their record of it (and everything it gave them). */
  async delete(idOrName: string): Promise<void> {
    const row = await this.row(this.db, idOrName);
    await withDatabase(() => this.db('cluster_templates').where({ id: row.id }).delete());
  }

  /**
   * Records, in the transaction creating the cluster, the template it comes from. The template must
   * still be at the version wfm completed the request with: otherwise the cluster would claim a
   * version it was not made from.
   */
  async useFor(trx: Knex.Transaction, clusterId: string, use: TemplateUse): Promise<void> {
    const row = (await trx<TemplateRow>('cluster_templates').where({ id: use.id }).first()) as TemplateRow | undefined;
    if (!row)
      throw new NotFoundError(`cluster template ${use.id} was deleted while the cluster was being created`, {
        details: { fields: [{ field: 'body.template', message: 'is not a cluster template' }] },
      });
    if (row.version !== use.version) {
      throw new ConflictError(
        `cluster template ${row.name} changed (version ${use.version} → ${row.version}) while the cluster was being created; send the request again`,
        'CX_VERSION_CONFLICT',
        {
          details: {
            version: row.version,
            fields: [{ field: 'body.template', message: 'changed while the cluster was being created' }],
          },
        },
      );
    }
    await trx('clusters')
      .where({ id: clusterId })
      .update({ template: JSON.stringify({ id: row.id, name: row.name, version: row.version }) });
  }

  private async row(db: Knex | Knex.Transaction, idOrName: string): Promise<TemplateRow> {
    const row = (await withDatabase(() =>
      db<TemplateRow>('cluster_templates').where({ id: idOrName }).orWhere({ name: idOrName }).first(),
    )) as TemplateRow | undefined;
    if (!row) throw new NotFoundError(`cluster template ${idOrName} does not exist`);
    return row;
  }

  private seal(id: string, addons: StoredAddon[]): string {
    const secrets: Secrets = Object.fromEntries(
      addons.filter((a) => Object.keys(a.secrets).length > 0).map((a) => [a.name, a.secrets]),
    );
    return this.box.seal(JSON.stringify(secrets), `cluster_templates:${id}`);
  }

  private secretsOf(row: TemplateRow): Secrets {
    return JSON.parse(this.box.open(row.secret, `cluster_templates:${row.id}`)) as Secrets;
  }

  private toTemplate(row: TemplateRow): ClusterTemplate {
    const spec = JSON.parse(row.spec) as Spec;
    const secrets = this.secretsOf(row);
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      ...templatePresets(spec),
      addons: spec.addons.map(({ name, settings }) => ({
        name,
        settings,
        secretSettings: Object.keys(secrets[name] ?? {}),
      })),
      createdBy: row.created_by,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      version: row.version,
    };
  }
}

function nameTaken(name: string): ConflictError {
  return new ConflictError(`a cluster template named ${name} already exists; choose another name`, 'CX_NAME_TAKEN', {
    details: { fields: [{ field: 'body.name', message: 'is already in use' }] },
  });
}

function staleVersion(row: TemplateRow, given: number): ConflictError {
  return new ConflictError(
    `cluster template ${row.name} is at version ${row.version}, not ${given}: it changed since you read it. Read it again (GET /api/v1/cluster-templates/${row.id}) and make your change against that`,
    'CX_VERSION_CONFLICT',
    {
      details: {
        version: row.version,
        fields: [{ field: 'body.version', message: `is not the current version (${row.version})` }],
      },
    },
  );
}
