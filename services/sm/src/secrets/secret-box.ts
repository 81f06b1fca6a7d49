/**
 * Encryption at rest of infrastructure credentials and other secrets kept in SQL: AES-256-GCM with a
 * key derived (HKDF-SHA256) from `secretKey`. Each value is an envelope naming the key it was sealed
 * with, so that a key rotation can tell what is already re-encrypted and a wrong key is reported
 * as such instead of as garbage.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

const VERSION = 'v1';
const IV_BYTES = 12;

export class SecretKeyMismatchError extends Error {
  constructor(keyId: string) {
    super(
      `a secret was sealed with key ${keyId}, not with the configured secretKey; was CX_SECRET_KEY changed without \`cx-server rotate-secret-key\`?`,
    );
  }
}

export class SecretBox {
  private readonly key: Buffer;
  /** Short public fingerprint of the key, stored in every envelope. */
  readonly keyId: string;

  constructor(secretKey: string) {
    this.key = Buffer.from(hkdfSync('sha256', secretKey, 'cx', 'cx secrets at rest v1', 32));
    this.keyId = createHash('sha256').update(this.key).digest('hex').slice(0, 12);
  }

  seal(plaintext: string, associatedData = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      VERSION,
      this.keyId,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join('.');
  }

  /** Whether `envelope` was sealed with this box's key. */
  owns(envelope: string): boolean {
    return envelope.split('.')[1] === this.keyId;
  }

  open(envelope: string, associatedData = ''): string {
    const [version, keyId, iv, tag, body] = envelope.split('.');
    if (version !== VERSION || !keyId || !iv || !tag || body === undefined) throw new Error('not a cx secret envelope');
    if (keyId !== this.keyId) throw new SecretKeyMismatchError(keyId);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}

/**
 * Every encrypted column: table, primary key and column. The row id is bound into each envelope as
 * associated data, so a ciphertext copied onto another row does not decrypt.
 */
export const SEALED_COLUMNS: ReadonlyArray<{ table: string; key: string; column: string }> = [
  { table: 'credentials', key: 'id', column: 'secret' },
  { table: 'oidc_logins', key: 'id', column: 'secret' },
  { table: 'cluster_pki', key: 'cluster_id', column: 'sealed' },
  { table: 'hosts', key: 'id', column: 'bmc_secret' },
  { table: 'pairs', key: 'id', column: 'agent_token' },
  { table: 'cluster_addons', key: 'id', column: 'secret' },
  { table: 'cluster_templates', key: 'id', column: 'secret' },
  // The data key of each etcd snapshot; the snapshot's chunks are sealed under it (etcd-snapshots.ts).
  { table: 'etcd_snapshots', key: 'id', column: 'sealed_key' },
];

/**
 * Re-encrypts every sealed column from `previous` to `next` in one transaction. Values already
 * sealed with `next` are left alone, so an interrupted rotation can simply be run again.
 */
export async function rotateSecrets(
  db: Knex,
  previous: SecretBox,
  next: SecretBox,
): Promise<{ rotated: number; alreadyCurrent: number }> {
  let rotated = 0;
  let alreadyCurrent = 0;
  await db.transaction(async (trx) => {
    for (const { table, key, column } of SEALED_COLUMNS) {
      const rows = (await trx(table).select(key, column)) as Array<Record<string, string>>;
      for (const row of rows) {
        const id = row[key]!;
        const envelope = row[column]!;
        if (next.owns(envelope)) {
          alreadyCurrent++;
          continue;
        }
        const plaintext = previous.open(envelope, `${table}:${id}`);
        await trx(table)
          .where({ [key]: id })
          .update({ [column]: next.seal(plaintext, `${table}:${id}`) });
        rotated++;
      }
    }
  });
  return { rotated, alreadyCurrent };
}
