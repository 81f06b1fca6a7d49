/**
 * Local identity and access through the public API: users, tokens and logout, lockout, resource
 * groups with quotas (seed 003, scenario 2), credentials that never leak, the audit log and its
 * filters, and key rotation.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, Api, serverPath, startCx, type CxProcess } from '../support/cx.js';
import { vsphereCredential } from '../support/infrastructure.js';

const SECRET = 'Sup3r-S3cret-vSphere-Pw!';

describe('identity and access (local users)', () => {
  let cx: CxProcess;
  let admin: Api;

  const as = async (username: string, password: string): Promise<Api> => Api.login(cx.base, username, password);
  const user = async (username: string, password = `${username}-password`): Promise<{ id: string; api: Api }> => {
    const created = await admin.call('POST', '/api/v1/users', { username, password });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return { id: created.body.id, api: await as(username, password) };
  };

  before(async () => {
    cx = await startCx({
      env: {
        CX_AUTH_LOCKOUT_MAX_FAILURES: '3',
        CX_AUTH_LOCKOUT_MAX_FAILURES_PER_USER: '5',
        CX_AUTH_LOCKOUT_MAX_FAILURES_PER_SOURCE: '1000',
        // The tests play clients behind a proxy on loopback, which reports their addresses.
        CX_HTTP_TRUSTED_PROXIES: '127.0.0.1,::1',
      },
    });
    admin = await Api.login(cx.base);
  });
  after(async () => {
    await cx?.stop();
  });

  it('manages local users: create, list, duplicate, password change, disable cuts existing tokens', async () => {
    const { id, api } = await user('ursula');
    assert.equal((await api.call('GET', '/api/v1/auth/whoami')).body.username, 'ursula');
    const list = await admin.call('GET', '/api/v1/users?limit=100');
    assert.ok(
      list.body.items.some(
        (u: { username: string; source: string }) => u.username === 'ursula' && u.source === 'local',
      ),
    );
    assert.equal(
      (await admin.call('POST', '/api/v1/users', { username: 'ursula', password: 'another-password' })).body.code,
      'CX_NAME_TAKEN',
    );
    const weak = await admin.call('POST', '/api/v1/users', { username: 'weak', password: 'short' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.fields[0].field, 'body.password');

    assert.equal(
      (
        await api.call('POST', '/api/v1/users/me/password', {
          currentPassword: 'wrong-one',
          newPassword: 'ursula-new-password',
        })
      ).status,
      401,
    );
    assert.equal(
      (
        await api.call('POST', '/api/v1/users/me/password', {
          currentPassword: 'ursula-password',
          newPassword: 'ursula-new-password',
        })
      ).status,
      204,
    );
    await as('ursula', 'ursula-new-password');

    assert.equal((await admin.call('PATCH', `/api/v1/users/${id}`, { disabled: true })).body.disabled, true);
    // wfm may answer from its short cache for a few seconds; sm refuses at once.
    await waitFor(
      async () => (await api.call('GET', '/api/v1/auth/whoami')).status === 401,
      "a disabled user's token stops working",
    );
    const login = await new Api(cx.base).call('POST', '/api/v1/auth/login', {
      username: 'ursula',
      password: 'ursula-new-password',
    });
    assert.equal(login.status, 401);
    assert.match(login.body.detail, /disabled/);
  });

  it('a password change ends the other sessions and keeps this one; a reset ends them all', async () => {
    const { id, api: here } = await user('paula');
    const elsewhere = await as('paula', 'paula-password');
    const changed = await here.call('POST', '/api/v1/users/me/password', {
      currentPassword: 'paula-password',
      newPassword: 'paula-second-password',
    });
    assert.equal(changed.status, 204, JSON.stringify(changed.body));
    // wfm may answer from its short cache for a few seconds; sm refuses at once.
    await waitFor(
      async () => (await elsewhere.call('GET', '/api/v1/auth/whoami')).status === 401,
      'other session ends',
    );
    assert.match((await elsewhere.call('GET', '/api/v1/auth/whoami')).body.detail, /password was changed/);
    assert.equal((await here.call('GET', '/api/v1/auth/whoami')).status, 200, 'the session that changed it stays');
    const later = await as('paula', 'paula-second-password');

    assert.equal((await admin.call('PATCH', `/api/v1/users/${id}`, { password: 'paula-third-password' })).status, 200);
    for (const [session, what] of [
      [here, 'the session that changed the password'],
      [later, 'a session begun after that change'],
    ] as const)
      await waitFor(
        async () => (await session.call('GET', '/api/v1/auth/whoami')).status === 401,
        `reset ends ${what}`,
      );
    assert.equal((await (await as('paula', 'paula-third-password')).call('GET', '/api/v1/auth/whoami')).status, 200);
  });

  it('gives an API token the default lifetime, and refuses one beyond the maximum', async () => {
    const { api } = await user('tilda');
    const token = await api.call('POST', '/api/v1/tokens', { name: 'no-expiry-asked' });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    const days = (Date.parse(token.body.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 89.9 && days <= 90, `90 days by default (auth.apiTokens.defaultDays), got ${days}`);
    const long = await api.call('POST', '/api/v1/tokens', { name: 'ten-years', expiresInDays: 3650 });
    assert.equal(long.status, 400, JSON.stringify(long.body));
    assert.equal(long.body.fields[0].field, 'body.expiresInDays');
    assert.deepEqual(
      (await api.call('GET', '/api/v1/tokens')).body.items.map((t: { name: string }) => t.name),
      ['no-expiry-asked'],
      'nothing was created for the refused one',
    );
  });

  it('logout revokes the token; API tokens are shown once, stored hashed, and revocable', async () => {
    const { api } = await user('tom');
    assert.equal((await api.call('POST', '/api/v1/auth/logout')).status, 204);
    const after = await api.call('GET', '/api/v1/auth/whoami');
    assert.equal(after.status, 401);
    assert.match(after.body.detail, /revoked|log in/);

    const fresh = await as('tom', 'tom-password');
    const created = await fresh.call('POST', '/api/v1/tokens', { name: 'ci', expiresInDays: 30 });
    assert.equal(created.status, 201);
    assert.match(created.body.token, /^cxat_/);
    const listed = await fresh.call('GET', '/api/v1/tokens');
    assert.deepEqual(
      listed.body.items.map((t: { name: string }) => t.name),
      ['ci'],
    );
    assert.equal(listed.body.items[0].token, undefined, 'the secret is never shown again');
    const bot = new Api(cx.base);
    bot.token = created.body.token;
    assert.equal((await bot.call('GET', '/api/v1/auth/whoami')).body.username, 'tom');
    // Someone else cannot revoke tom's token, and does not learn it exists.
    const { api: other } = await user('olga');
    assert.equal((await other.call('DELETE', `/api/v1/tokens/${created.body.id}`)).status, 404);
    assert.equal((await fresh.call('DELETE', `/api/v1/tokens/${created.body.id}`)).status, 204);
    await waitFor(
      async () => (await bot.call('GET', '/api/v1/auth/whoami')).status === 401,
      'a revoked API token stops working',
    );
  });

  it('throttles logins per user and source: delays the guesser, locks the user only elsewhere, audits it, unlock clears it', async () => {
    const { id } = await user('lara'); // lara signs in from here: a source she is known from
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const anonymous = new Api(cx.base);
    const attempt = (password: string, address: string) =>
      anonymous.call('POST', '/api/v1/auth/login', { username: 'lara', password }, from(address));
    for (let i = 0; i < 3; i++) assert.equal((await attempt('guess', '198.51.100.1')).status, 401);
    // Past auth.lockout.maxFailures from one source, that source waits, whatever the password.
    const delayed = await attempt('lara-password', '198.51.100.1');
    assert.equal(delayed.status, 429, JSON.stringify(delayed.body));
    assert.equal(delayed.body.code, 'CX_RATE_LIMITED');
    assert.ok(Number(delayed.headers.get('retry-after')) > 0, 'says when to retry');
    // Past auth.lockout.maxFailuresPerUser from everywhere, lara is locked against sources she never used…
    for (let i = 0; i < 2; i++) assert.equal((await attempt('guess', '198.51.100.2')).status, 401);
    const locked = await attempt('lara-password', '198.51.100.3');
    assert.equal(locked.status, 423, JSON.stringify(locked.body));
    assert.equal(locked.body.code, 'CX_ACCOUNT_LOCKED');
    assert.ok(Number(locked.headers.get('retry-after')) > 0 || locked.body.retryAfter > 0, 'says when to retry');
    // …not where she signed in before.
    await as('lara', 'lara-password');
    const audit = await admin.call('GET', '/api/v1/audit?actor=lara&action=auth.login&outcome=failure');
    assert.ok(audit.body.items.length >= 6, `failures are audited: ${JSON.stringify(audit.body.items.length)}`);
    assert.ok(audit.body.items.some((e: { details: { code: string } }) => e.details.code === 'CX_ACCOUNT_LOCKED'));
    assert.ok(
      audit.body.items.some((e: { sourceIp: string }) => e.sourceIp === '198.51.100.2'),
      'the trusted proxy reports the client address',
    );
    assert.ok(audit.body.items.every((e: { sourceIp: string; requestId: string }) => e.sourceIp && e.requestId));
    assert.equal((await admin.call('POST', `/api/v1/users/${id}/unlock`)).status, 200);
    for (const address of ['198.51.100.1', '198.51.100.3'])
      assert.equal((await attempt('lara-password', address)).status, 200, `after the unlock, from ${address}`);
  });

  it('has a break-glass unlock for the bootstrap admin locked against everywhere it never signed in from', async () => {
    const attempt = (password: string, address: string) =>
      new Api(cx.base).call(
        'POST',
        '/api/v1/auth/login',
        { username: 'admin', password },
        { 'x-forwarded-for': address },
      );
    for (let i = 0; i < 5; i++) assert.equal((await attempt(`guess-${i}`, `198.51.100.${20 + i}`)).status, 401);
    assert.equal((await attempt(ADMIN_PASSWORD, '198.51.100.30')).status, 423);
    assert.match(
      execFileSync(process.execPath, [serverPath, 'unlock-user', 'admin'], {
        env: { ...process.env, CX_DATA_DIR: cx.dataDir },
        encoding: 'utf8',
      }),
      /admin may sign in again/,
    );
    assert.equal((await attempt(ADMIN_PASSWORD, '198.51.100.30')).status, 200);
  });

  it('throttles a wrong current password on a password change like a failed login', async () => {
    const { api } = await user('carl');
    for (let i = 0; i < 3; i++) {
      const wrong = await api.call('POST', '/api/v1/users/me/password', {
        currentPassword: `guess-${i}`,
        newPassword: 'carl-new-password',
      });
      assert.equal(wrong.status, 401, JSON.stringify(wrong.body));
    }
    const next = await api.call('POST', '/api/v1/users/me/password', {
      currentPassword: 'carl-password',
      newPassword: 'carl-new-password',
    });
    assert.equal(next.status, 429, JSON.stringify(next.body));
    assert.equal(next.body.code, 'CX_RATE_LIMITED');
  });

  it('lets an operator of a resource group create clusters in it up to its quota, and shows each user only what they may see', async () => {
    const group = await admin.call('POST', '/api/v1/resource-groups', {
      name: 'team-a',
      quotas: { clusters: 2, nodes: 4 },
    });
    assert.equal(group.status, 201);
    const { api: operator } = await user('oscar');
    const { api: outsider } = await user('ines');
    assert.equal(
      (
        await admin.call('POST', '/api/v1/grants', {
          subject: { kind: 'user', name: 'oscar' },
          object: { kind: 'resource-group', id: 'team-a' },
          role: 'operator',
        })
      ).status,
      201,
    );

    const body = (name: string, workers: number): unknown => ({
      name,
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 1 },
      nodePools: [{ name: 'w', count: workers }],
      resourceGroup: 'team-a',
    });
    const first = await operator.call('POST', '/api/v1/clusters', body('team-a-1', 1));
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal(first.body.cluster.resourceGroupId, group.body.id);
    const tooMany = await operator.call('POST', '/api/v1/clusters', body('team-a-2', 3));
    assert.equal(tooMany.status, 422);
    assert.equal(tooMany.body.code, 'CX_QUOTA_EXCEEDED');
    assert.equal(tooMany.body.quota, 'nodes');
    assert.equal((await operator.call('POST', '/api/v1/clusters', body('team-a-2', 1))).status, 202);
    assert.equal(
      (await operator.call('POST', '/api/v1/clusters', body('team-a-3', 0))).body.code,
      'CX_QUOTA_EXCEEDED',
      'the clusters quota',
    );
    // Outside the group, the operator has no rights; without a group, only a global grant will do.
    assert.equal(
      (
        await operator.call('POST', '/api/v1/clusters', {
          ...(body('elsewhere', 0) as object),
          resourceGroup: undefined,
        })
      ).status,
      403,
    );
    assert.equal((await outsider.call('POST', '/api/v1/clusters', body('intruder', 0))).status, 404);

    const names = async (api: Api): Promise<string[]> =>
      (await api.call('GET', '/api/v1/clusters?limit=500')).body.items.map((c: { name: string }) => c.name).sort();
    assert.deepEqual(await names(operator), ['team-a-1', 'team-a-2']);
    assert.deepEqual(await names(outsider), []);
    assert.ok((await names(admin)).includes('team-a-1'));
    const groups = await operator.call('GET', '/api/v1/resource-groups');
    assert.deepEqual(
      groups.body.items.map((g: { name: string }) => g.name),
      ['team-a'],
    );
    assert.deepEqual(groups.body.items[0].usage, { clusters: 2, nodes: 4, vcpus: 8, memoryMiB: 16384 });
    assert.deepEqual((await outsider.call('GET', '/api/v1/resource-groups')).body.items, []);
  });

  it('stores credentials encrypted: never returned, not in the database file, not in the logs', async () => {
    // The credential is checked against the real vCenter simulator before it is stored.
    const body = vsphereCredential('vc-prod');
    const password = body['password'] as string;
    const created = await admin.call('POST', '/api/v1/credentials', body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.hasCaCert, true);
    const refused = await admin.call(
      'POST',
      '/api/v1/credentials',
      vsphereCredential('vc-wrong', { password: SECRET }),
    );
    assert.equal(refused.body.code, 'CX_CREDENTIAL_REJECTED');
    const everything = JSON.stringify([
      created.body,
      refused.body,
      (await admin.call('GET', '/api/v1/credentials')).body,
      (await admin.call('GET', `/api/v1/credentials/${created.body.id}`)).body,
      (await admin.call('GET', '/api/v1/audit?limit=1000')).body,
    ]);
    assert.ok(everything.includes(body['username'] as string));
    for (const secret of [password, SECRET]) assert.ok(!everything.includes(secret), 'no answer carries the password');
    const bad = await admin.call('POST', '/api/v1/credentials', body);
    assert.equal(bad.body.code, 'CX_NAME_TAKEN');
    assert.ok(!JSON.stringify(bad.body).includes(password));
    for (const file of readdirSync(cx.dataDir).filter((f) => f.startsWith('cx.db') || f.endsWith('.log'))) {
      for (const secret of [password, SECRET])
        assert.ok(!readFileSync(join(cx.dataDir, file)).includes(secret), `${file} holds a plaintext secret`);
    }
  });

  it('filters the audit log and pages through it', async () => {
    await user('audrey');
    const byAction = await admin.call('GET', '/api/v1/audit?action=POST%20/api/v1/users&targetId=audrey');
    assert.equal(byAction.body.items.length, 1);
    assert.equal(byAction.body.items[0].actor, 'admin');
    assert.equal(byAction.body.items[0].outcome, 'success');
    const prefix = await admin.call('GET', '/api/v1/audit?action=auth.*&limit=2');
    assert.equal(prefix.body.items.length, 2);
    assert.ok(prefix.body.items.every((e: { action: string }) => e.action.startsWith('auth.')));
    const next = await admin.call(
      'GET',
      `/api/v1/audit?action=auth.*&limit=2&cursor=${encodeURIComponent(prefix.body.nextCursor)}`,
    );
    assert.ok(next.body.items[0].id < prefix.body.items[1].id, 'the next page is older');
    const since = new Date(Date.now() + 60_000).toISOString();
    assert.deepEqual((await admin.call('GET', `/api/v1/audit?since=${since}`)).body.items, []);
    assert.equal((await admin.call('GET', '/api/v1/audit?outcome=maybe')).status, 400);
  });
});

describe('secret key rotation', () => {
  it('re-encrypts credentials with `cx-server rotate-secret-key`; they still open under the new key', async () => {
    const oldKey = 'o'.repeat(40);
    const newKey = 'n'.repeat(40);
    let cx = await startCx({ env: { CX_SECRET_KEY: oldKey } });
    const admin = await Api.login(cx.base);
    assert.equal((await admin.call('POST', '/api/v1/credentials', vsphereCredential('rotated'))).status, 201);
    await cx.stop();
    const env = { ...process.env, CX_DATA_DIR: cx.dataDir, CX_SECRET_KEY: newKey, CX_PREVIOUS_SECRET_KEY: oldKey };
    assert.match(
      execFileSync(process.execPath, [serverPath, 'rotate-secret-key'], { env, encoding: 'utf8' }),
      /re-encrypted 1 secret/,
    );
    assert.match(
      execFileSync(process.execPath, [serverPath, 'rotate-secret-key'], { env, encoding: 'utf8' }),
      /re-encrypted 0 secret\(s\); 1 already/,
    );
    cx = await startCx({ dataDir: cx.dataDir, env: { CX_SECRET_KEY: newKey } });
    try {
      const after = await Api.login(cx.base);
      assert.equal((await after.call('GET', '/api/v1/credentials/rotated')).body.name, 'rotated');
    } finally {
      await cx.stop();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
