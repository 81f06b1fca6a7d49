/**
 * kubectl through `cx kubeconfig`'s exec-plugin entry keeps working across a certificate expiry:
 * with certificates of one minute (auth.kubeconfigCertificateSeconds), a long-running kubectl
 * (`kubectl proxy`) still reaches the tenant API after its first certificate expired, because
 * client-go runs `cx kubeconfig credential` again; the same first certificate written into a
 * plain kubeconfig is refused by then, so the expiry is real.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { ADMIN_PASSWORD, cliPath, startCx, stopKwokControlPlanes, tempDir, type CxProcess } from '../support/cx.js';

const CERTIFICATE_SECONDS = 60;

describe('kubectl across a certificate expiry, through the cx exec credential plugin (kwok)', () => {
  const raw = process.env['CX_TEST_KUBERNETES'];
  const dir = tempDir('cli-kubeconfig-expiry');
  const env: NodeJS.ProcessEnv = { ...process.env, CX_CREDENTIALS_FILE: join(dir, 'credentials.json'), NO_COLOR: '1' };
  const kubeconfig = join(dir, 'kube', 'config');
  let cx: CxProcess;
  let proxy: ChildProcess | undefined;
  const cxOk = async (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<string> =>
    (
      await promisify(execFile)(process.execPath, [cliPath, ...args], {
        env: { ...env, ...extra },
        timeout: 240_000,
      })
    ).stdout;

  before(async () => {
    assert.ok(raw, 'CX_TEST_KUBERNETES is not set: run the tests with `npm test` (test/peers/kubernetes.sh)');
    const binaries = join(dir, 'binaries.json');
    writeFileSync(binaries, raw);
    cx = await startCx({
      env: {
        CX_KWOK_BINARIES_FILE: binaries,
        CX_AUTH_KUBECONFIG_CERTIFICATE_SECONDS: String(CERTIFICATE_SECONDS),
      },
    });
    await cxOk(['login', cx.base, '-u', 'admin'], { CX_PASSWORD: ADMIN_PASSWORD });
  });
  after(async () => {
    proxy?.kill();
    await cx?.stop();
    stopKwokControlPlanes(cx?.dataDir);
  });

  it('keeps a long-running kubectl working after its certificate expired, while the expired one is refused', async () => {
    const peer = JSON.parse(raw!) as { kubeApiserver: Record<string, string>; kubectl?: string };
    const kubectl = peer.kubectl ?? 'kubectl';
    const version = Object.keys(peer.kubeApiserver).sort()[0]!;
    await cxOk([
      'create',
      'cluster',
      'exp',
      '--provider',
      'kwok',
      '--version',
      version,
      '--control-plane',
      '1',
      '--wait',
      '--timeout',
      '4m',
    ]);
    mkdirSync(join(dir, 'kube'), { recursive: true });
    await cxOk(['kubeconfig', 'exp', '--merge'], { KUBECONFIG: kubeconfig });

    // A plain kubeconfig holding one certificate of the plugin's, as it was issued.
    const credential = JSON.parse(await cxOk(['kubeconfig', 'credential', 'exp'])) as {
      status: { clientCertificateData: string; clientKeyData: string; expirationTimestamp: string };
    };
    const expiresAt = Date.parse(credential.status.expirationTimestamp);
    assert.ok(expiresAt - Date.now() <= CERTIFICATE_SECONDS * 1000, 'the configured lifetime is used');
    const merged = (await promisify(execFile)(kubectl, ['config', 'view', '--raw', '-o', 'json'], {
      env: { ...env, KUBECONFIG: kubeconfig },
    })) as { stdout: string };
    const cluster = (JSON.parse(merged.stdout) as { clusters: Array<{ cluster: Record<string, string> }> }).clusters[0]!
      .cluster;
    const plain = join(dir, 'plain-kubeconfig');
    writeFileSync(
      plain,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'exp', cluster }],
        users: [
          {
            name: 'fixed',
            user: {
              'client-certificate-data': Buffer.from(credential.status.clientCertificateData).toString('base64'),
              'client-key-data': Buffer.from(credential.status.clientKeyData).toString('base64'),
            },
          },
        ],
        contexts: [{ name: 'fixed', context: { cluster: 'exp', user: 'fixed' } }],
        'current-context': 'fixed',
      }),
      { mode: 0o600 },
    );
    const nodesWith = async (config: string): Promise<{ code: number; out: string }> =>
      promisify(execFile)(kubectl, ['get', 'nodes', '-o', 'name', '--request-timeout=20s'], {
        env: { ...env, KUBECONFIG: config },
      }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code?: number; stderr?: string }) => ({ code: e.code ?? 1, out: e.stderr ?? '' }),
      );
    assert.equal((await nodesWith(plain)).code, 0, 'the certificate works while it is valid');

    // A long-running kubectl through the plugin.
    proxy = spawn(kubectl, ['proxy', '--port=0'], { env: { ...env, KUBECONFIG: kubeconfig } });
    let proxyErrors = '';
    proxy.stderr!.on('data', (chunk: Buffer) => (proxyErrors = (proxyErrors + chunk.toString('utf8')).slice(-4000)));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      proxy!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const found = /127\.0\.0\.1:(\d+)/.exec(out);
        if (found) resolve(Number(found[1]));
      });
      proxy!.once('exit', (code) => reject(new Error(`kubectl proxy exited (${code}): ${out}`)));
    });
    const viaProxy = async (): Promise<number> => (await fetch(`http://127.0.0.1:${port}/api/v1/nodes`)).status;
    assert.equal(await viaProxy(), 200);
    const proxyCertificateBy = Date.now();

    // Past the expiry of the first certificate and of the proxy's (issued by now), bounded.
    await sleep(Math.max(expiresAt, proxyCertificateBy + CERTIFICATE_SECONDS * 1000) - Date.now() + 5_000);
    const expired = await nodesWith(plain);
    assert.notEqual(expired.code, 0, 'the expired certificate is refused');
    assert.match(expired.out, /Unauthorized|must be logged in|certificate/i);
    // client-go closes its connections when it swaps certificates, so a request racing the swap may
    // fail once; the proxy must then go on with the new one (up to 10 tries, a second apart).
    const after: number[] = [];
    for (let i = 0; i < 10 && after.at(-1) !== 200; i++) {
      if (i > 0) await sleep(1_000);
      after.push(await viaProxy());
    }
    assert.equal(
      after.at(-1),
      200,
      `kubectl proxy fetched a new certificate through cx and goes on (answers: ${after.join(', ')}; its stderr: ${proxyErrors})`,
    );
    await cxOk(['delete', 'cluster', 'exp', '--wait']);
  });
});
