/**
 * Identity settings an admin saves at run time (table directory_settings, one row per kind: the
 * LDAP directory, OIDC single sign-on): the settings as JSON and one secret sealed by the secret
 * box. The row is read at each use, so that every sm replica follows a change at once; what is
 * built from it (a directory client, a sign-on) is rebuilt only when the row changed.
 */
import type { Knex } from 'knex';
import { nowIso } from '@cx/service-kit';
import { withDatabase } from '../db/database.js';
import type { SecretBox } from '../secrets/secret-box.js';

export interface SavedRow<S> {
  settings: S;
  hasSecret: boolean;
  /** The secret, opened (only when needed: a use of the row rarely needs it); undefined when none is saved. */
  secret(): string | undefined;
  updatedBy: string;
  updatedAt: string;
  /** Changes whenever the row does. */
  version: string;
}

interface Row {
  kind: string;
  settings: string;
  secret_sealed: string | null;
  updated_by: string;
  updated_at: string;
}

export class SavedSettings<S, Built> {
  private cached: { key: string; built: Built } | undefined;

  constructor(
    private readonly db: Knex,
    private readonly box: SecretBox,
    private readonly kind: 'ldap' | 'oidc',
  ) {}

  /** The saved settings, or undefined when none are (the configuration file's are in force). */
  async read(): Promise<SavedRow<S> | undefined> {
    const row = (await withDatabase(() => this.db('directory_settings').where({ kind: this.kind }).first())) as
      Row | undefined;
    if (!row) return undefined;
    const sealed = row.secret_sealed;
    return {
      settings: JSON.parse(row.settings) as S,
      hasSecret: sealed !== null,
      secret: () => (sealed ? this.box.open(sealed, this.context()) : undefined),
      updatedBy: row.updated_by,
      updatedAt: row.updated_at,
      version: `${row.settings}|${sealed ?? ''}`,
    };
  }

  /** What `build` makes of the saved row, made again only when the row changed; undefined without one. */
  async built(build: (saved: SavedRow<S>) => Built): Promise<Built | undefined> {
    const saved = await this.read();
    if (!saved) return undefined;
    if (this.cached?.key !== saved.version) this.cached = { key: saved.version, built: build(saved) };
    return this.cached.built;
  }

  async save(settings: S, secret: string | undefined, actor: string): Promise<void> {
    const row: Row = {
      kind: this.kind,
      settings: JSON.stringify(settings),
      secret_sealed: secret ? this.box.seal(secret, this.context()) : null,
      updated_by: actor,
      updated_at: nowIso(),
    };
    await withDatabase(() => this.db('directory_settings').insert(row).onConflict('kind').merge());
  }

  /** Drops the saved settings, so that the configuration file's apply again; false when none were saved. */
  async drop(): Promise<boolean> {
    const deleted = await withDatabase(() => this.db('directory_settings').where({ kind: this.kind }).delete());
    this.cached = undefined;
    return deleted > 0;
  }

  private context(): string {
    return `directory_settings:${this.kind}`;
  }
}
