/** `cx login` / `whoami` / `logout` against a running cx: password login, and OIDC single sign-on through the device flow. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ADMIN_PASSWORD, cliPath, freePort, startCx, tempDir, type CxProcess } from '../support/cx.js';
import { startOidcProvider, type OidcPeer } from '../support/oidc-provider.js';

const run = promisify(execFile);

describe('cx login', () => {
  let idp: OidcPeer;
  let cx: CxProcess;
  const sessionFile = join(tempDir('cli'), 'session.json');
  const env = { ...process.env, CX_SESSION_FILE: sessionFile };

  before(async () => {
    const port = await freePort();
    idp = await startOidcProvider({
      accounts: [{ username: 'sso-sam', password: 'sam-secret', email: 'sam@example.test', groups: ['platform'] }],
      redirectUris: [`http://127.0.0.1:${port}/api/v1/auth/oidc/callback`],
      deviceInterval: 1,
    });
    cx = await startCx({
      port,
      env: {
        CX_OIDC_ISSUER: idp.issuer,
        CX_OIDC_CLIENT_ID: idp.clientId,
        CX_OIDC_CLIENT_SECRET: idp.clientSecret,
        CX_OIDC_SCOPES: 'openid profile email groups',
        CX_OIDC_ALLOW_HTTP: 'true',
      },
    });
  });
  after(async () => {
    await cx?.stop();
    await idp?.close();
  });

  it('signs in with a password, shows who, keeps the session private, and signs out', async () => {
    const login = await run(process.execPath, [cliPath, 'login', '--server', cx.base, '--username', 'admin'], {
      env: { ...env, CX_PASSWORD: ADMIN_PASSWORD },
    });
    assert.match(login.stdout, /signed in to .* as admin/);
    assert.equal(statSync(sessionFile).mode & 0o077, 0, 'the session file is readable by its owner only');
    assert.match((await run(process.execPath, [cliPath, 'whoami'], { env })).stdout, /^admin \(local, admin\)/);
    assert.match((await run(process.execPath, [cliPath, 'logout'], { env })).stdout, /signed out/);
    assert.equal(existsSync(sessionFile), false);
    await assert.rejects(run(process.execPath, [cliPath, 'whoami'], { env }), (error: { stderr: string }) =>
      /not signed in/.test(error.stderr),
    );
    await assert.rejects(
      run(process.execPath, [cliPath, 'login', '--server', cx.base, '--username', 'admin'], {
        env: { ...env, CX_PASSWORD: 'wrong' },
      }),
      (error: { stderr: string; code: number }) => /wrong username or password/.test(error.stderr) && error.code !== 0,
    );
  });

  it('signs in through the identity provider with the device flow', async () => {
    const child = spawn(process.execPath, [cliPath, 'login', '--server', cx.base, '--sso'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const userCode = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no user code within 15 s: ${stderr}`)), 15_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const code = /user_code=([A-Z0-9-]+)|enter the code (\S+)/i.exec(stderr);
        if (code) {
          clearTimeout(timer);
          resolve(decodeURIComponent(code[1] ?? code[2]!));
        }
      });
    });
    await idp.approveDevice(userCode, 'sso-sam', 'sam-secret');
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /as sso-sam/);
    const whoami = (await run(process.execPath, [cliPath, 'whoami'], { env })).stdout;
    assert.match(whoami, /^sso-sam \(oidc, user\)/);
    assert.match(whoami, /groups: platform/);
    await run(process.execPath, [cliPath, 'logout'], { env });
  });
});
