/**
 * Property-based fuzzing of the served API with schemathesis (PyPI, test/peers/schemathesis.sh):
 * every operation of the OpenAPI document, generated valid and invalid requests with a token and
 * without, stateful sequences. The answers must agree with the document (status codes, content
 * types, headers, response schemas), no request may make a server error, and nothing that needs a
 * token may answer without one. The report is kept in test-results/schemathesis/.
 *
 * Only the `sim` provider runs and cluster templates and directory settings are left out, so that
 * no generated request makes cx reach beyond loopback: credential and BMC checks would connect to
 * generated addresses, a template's addon endpoints are resolved through DNS, and directory
 * settings are tried against the URL given (their own tests cover them).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Api, repoRoot, startCx, tempDir, type CxProcess } from '../support/cx.js';

const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'ignored_auth',
];
const EXAMPLES_PER_OPERATION = 10;
const SEED = 20261205;
const RUN_DEADLINE_MS = 15 * 60_000;

let cx: CxProcess;
before(async () => {
  cx = await startCx({ env: { CX_SDDC_PROVIDERS: 'sim' } });
});
after(async () => {
  await cx?.stop();
});

it('finds no server error and no answer that disagrees with the OpenAPI document', async (t) => {
  const raw = process.env['CX_TEST_SCHEMATHESIS'];
  assert.ok(raw, 'CX_TEST_SCHEMATHESIS is not set: run the tests with `npm test` (test/peers/schemathesis.sh)');
  const { bin } = JSON.parse(raw) as { bin: string };
  const { token } = await Api.login(cx.base);
  const reportDir = join(repoRoot, 'test-results', 'schemathesis');
  mkdirSync(reportDir, { recursive: true });
  const args = [
    'run',
    `${cx.base}/api/v1/openapi.json`,
    '--header',
    `Authorization: Bearer ${token}`,
    '--checks',
    CHECKS.join(','),
    '--max-examples',
    String(EXAMPLES_PER_OPERATION),
    '--seed',
    String(SEED),
    '--workers',
    '1',
    '--request-timeout',
    '30',
    // Logout would revoke the run's own token.
    '--exclude-path',
    '/api/v1/auth/logout',
    '--exclude-path-regex',
    '^/api/v1/cluster-templates',
    // Saving directory or single sign-on settings connects to the generated URL first.
    '--exclude-path',
    '/api/v1/settings/ldap',
    '--exclude-path',
    '/api/v1/settings/oidc',
    '--report',
    'junit',
    '--report-dir',
    reportDir,
  ];
  const { code, output } = await new Promise<{ code: number | null; output: string }>((done, fail) => {
    // In a directory of its own: schemathesis keeps a cache of past failures where it runs.
    const child = spawn(bin, args, { cwd: tempDir('schemathesis'), env: { ...process.env, NO_COLOR: '1' } });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MS);
    child.once('error', fail);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      done({ code: exitCode, output: text });
    });
  });
  const summary = output.slice(output.lastIndexOf('SUMMARY'));
  const cases = /(\d+) generated, (\d+) (?:passed|found)/.exec(summary);
  t.diagnostic(`schemathesis: ${cases?.[0] ?? 'no summary'}; report in ${reportDir}`);
  const failures = output.includes('FAILURES')
    ? output.slice(output.indexOf('FAILURES'), output.indexOf('WARNINGS'))
    : output;
  assert.equal(code, 0, `schemathesis found failures:\n${failures.slice(0, 20_000)}`);
  assert.ok(cases && Number(cases[1]) > 1000, `it generated requests: ${summary}`);
  const reports = readdirSync(reportDir).filter((file) => file.endsWith('.xml'));
  assert.ok(reports.length > 0, 'a JUnit report is kept');
  assert.match(readFileSync(join(reportDir, reports.at(-1)!), 'utf8'), /<testsuite/);
});
