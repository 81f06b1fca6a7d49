/**
 * `cx-server rotate-secret-key`: re-seals every secret kept in SQL from the previous secretKey
 * (CX_PREVIOUS_SECRET_KEY) to the configured one. Safe to run again: secrets already sealed with
 * the new key are counted, not touched.
 */
import { loadConfig } from '@cx/config';
import { CxError } from '@cx/errors';
import { migrateLatest } from '@cx/migrations';
import { openDatabase, rotateSecrets, SecretBox } from '@cx/sm';
import { embeddedSecrets } from './embedded.js';

/** Rotates with the configured key, or the embedded default's generated one when none is set. */
export async function runRotateSecretKey(configFile: string | undefined): Promise<void> {
  const base = loadConfig({ file: configFile });
  const previousKey = process.env['CX_PREVIOUS_SECRET_KEY'];
  if (!previousKey)
    throw new CxError(
      'CX_INPUT_INVALID',
      'set CX_PREVIOUS_SECRET_KEY to the key the secrets are sealed with now, and CX_SECRET_KEY (secretKey) to the new one',
    );
  const secretKey = base.secretKey ?? embeddedSecrets(base.dataDir, false).secretKey;
  if (secretKey === previousKey)
    throw new CxError('CX_INPUT_INVALID', 'the new secretKey equals CX_PREVIOUS_SECRET_KEY; nothing to rotate');
  const db = openDatabase(base.database.url, 1);
  try {
    await migrateLatest(db);
    const { rotated, alreadyCurrent } = await rotateSecrets(db, new SecretBox(previousKey), new SecretBox(secretKey));
    process.stdout.write(
      `re-encrypted ${rotated} secret(s); ${alreadyCurrent} already used the new key. Access tokens signed with the previous key are no longer valid: users log in again (API tokens keep working).\n`,
    );
  } finally {
    await db.destroy();
  }
}
