/**
 * `cx-server unlock-user NAME`: the break-glass path when nobody who may unlock a user can sign in
 * (the bootstrap `admin` locked, say). It needs what the server needs, the database, not a login,
 * and clears what the API's unlock clears: the user's lock, their delays, the addresses they came from.
 */
import { loadConfig } from '@cx/config';
import { LoginThrottle, openDatabase } from '@cx/sm';

export async function runUnlockUser(configFile: string | undefined, username: string): Promise<void> {
  const config = loadConfig({ file: configFile });
  const db = openDatabase(config.database.url, 1);
  try {
    await new LoginThrottle(db, config.auth.lockout).unlock(username);
    process.stdout.write(`${username} may sign in again from anywhere\n`);
  } finally {
    await db.destroy();
  }
}
