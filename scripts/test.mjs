// `npm test`: installs and builds, starts the real peers the tests need (MariaDB, Redis, slapd, and
// the Kubernetes binaries, built from Go modules the first time and cached; see test/peers/), runs every compiled test file with node:test, and ends with one line
// `tests: N passed, N failed[, N skipped]` read from the runner's TAP report.
// `npm run test:unit` (`npm test -- --unit`): the fast path — only the tests beside the code that
// need no peer (neither they nor a module they import reads a `CX_TEST_*` peer variable), in
// parallel, with no peer started. Both take substrings of test file paths to select fewer.
import { spawnSync } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { INFRASTRUCTURE_PEERS, build, ensureDependencies, kubernetesPeers, output, root, say } from './lib.mjs';

// A report of an earlier run must not be read as this run's (.ci/run reads it too).
const report = join(root, 'test-results', 'report.tap');
rmSync(report, { force: true });

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const patterns = args.filter((arg) => arg !== '--unit');

ensureDependencies();
build();

const peerEnv = {};
if (!unitOnly) startPeers();

/** Starts every peer (idempotent) and keeps the line each prints for its tests. */
function startPeers() {
  say(
    'starting test peers (test/peers/: mariadb, redis, slapd, kubernetes, vcsim, redfish, ipmi, keystone, keepalived, schemathesis, chromium)…',
  );
  // Each peer prints one line (a URL or JSON) that its tests read from the environment variable named here.
  try {
    peerEnv.CX_TEST_MYSQL_URL = output('bash', ['test/peers/mariadb.sh', 'start']);
    peerEnv.CX_TEST_REDIS_URL = output('bash', ['test/peers/redis.sh', 'start']);
    peerEnv.CX_TEST_SLAPD = output('bash', ['test/peers/slapd.sh', 'start']);
    peerEnv.CX_TEST_KUBERNETES = kubernetesPeers();
    for (const [name, variable] of INFRASTRUCTURE_PEERS)
      peerEnv[variable] = output('bash', [`test/peers/${name}.sh`, 'start']);
    peerEnv.CX_TEST_SCHEMATHESIS = output('bash', ['test/peers/schemathesis.sh', 'start']);
    peerEnv.CX_TEST_CHROMIUM = output('bash', ['test/peers/chromium.sh', 'start']);
  } catch (error) {
    say(`a test peer could not start: ${error.message}`);
    process.exit(1);
  }
}

const files = [];
// The end-to-end test on booted machines runs apart (`npm run test:machines`): it takes longer than CI allows.
const MACHINES_TESTS = join(root, 'test', 'dist', 'machines');
const walk = (dir) => {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && path !== MACHINES_TESTS) walk(path);
    else if (entry.isFile() && entry.name.endsWith('.test.js')) files.push(path);
  }
};
for (const top of ['apps', 'packages', 'services', 'migrations', 'test']) {
  const base = join(root, top);
  if (!existsSync(base)) continue;
  if (top === 'migrations' || top === 'test') walk(join(base, 'dist'));
  else for (const pkg of readdirSync(base)) walk(join(base, pkg, 'dist'));
}

/** Whether a compiled module, or a module it imports by relative path, reads a test peer's variable. */
const peerUse = new Map();
function needsPeer(file) {
  if (peerUse.has(file)) return peerUse.get(file);
  peerUse.set(file, false);
  const source = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const imports = [...source.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) =>
    resolve(dirname(file), m[1]),
  );
  const uses = /CX_TEST_/.test(source) || imports.some(needsPeer);
  peerUse.set(file, uses);
  return uses;
}

const isUnit = (file) => !relative(root, file).startsWith('test/') && !needsPeer(file);
const selected = files
  .filter((f) => patterns.length === 0 || patterns.some((p) => relative(root, f).includes(p)))
  .filter((f) => !unitOnly || isUnit(f))
  .sort();
if (selected.length === 0) {
  say('no test files found');
  process.exit(1);
}

mkdirSync(join(root, 'test-results'), { recursive: true });
say(`running ${selected.length} ${unitOnly ? 'unit test files (no peers)' : 'test files'}…`);
// Unit tests share nothing and run in parallel; the others share peers, so one file at a time.
const concurrency = unitOnly ? availableParallelism() : 1;
// Tests make data directories (a kwok cluster's etcd alone is ~250 MB) and leave them behind; they
// make them under one directory of this run, removed when it ends (CX_TEST_KEEP_TMP=1 keeps it).
const runTmp = mkdtempSync(join(tmpdir(), 'cx-test-run-'));
const result = spawnSync(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${report}`,
    ...selected,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, ...peerEnv, TMPDIR: runTmp } },
);
if (process.env.CX_TEST_KEEP_TMP === '1') say(`the tests' temporary files are kept in ${runTmp}`);
else rmSync(runTmp, { recursive: true, force: true });

const tap = existsSync(report) ? readFileSync(report, 'utf8') : '';
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
if (!tap) say('the test runner wrote no report');
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(result.status === 0 && failed === 0 && tap ? 0 : 1);
