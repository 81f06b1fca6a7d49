// Benchmark of LDAP logins (not a test): POST /api/v1/auth/login of `many`, the slapd peer's user in
// 1000 groups (+ bulk-parent through nesting), against baselines measured in the same run on the
// same machine: a local login (argon2id) through the same cx, and the same directory work done
// with ldapts directly (no cx), so that the ratio shows what cx adds.
//   cold      first login after cx started (empty group cache, fresh process), cx restarted each time
//   uncached  CX_LDAP_GROUP_CACHE_TTL_SECONDS=0: every login resolves the 1001 groups again
//   cached    default TTL, after a warm-up login: the groups come from the cache
// Needs a build (npx tsc -b). Usage: node bench/ldap-login.mjs [--cold 5] [--uncached 20] [--cached 50]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'ldapts';
import { root } from '../scripts/lib.mjs';
import { PASSWORD, startCx } from './lib.mjs';

const { values } = parseArgs({
  options: {
    cold: { type: 'string', default: '5' },
    uncached: { type: 'string', default: '20' },
    cached: { type: 'string', default: '50' },
  },
});
const COLD = Number(values.cold);
const UNCACHED = Number(values.uncached);
const CACHED = Number(values.cached);
const USER = 'many';
const USER_PASSWORD = 'many-pw';
const COLD_TARGET_MS = 200;

const peer = JSON.parse(
  execFileSync('bash', ['test/peers/slapd.sh', 'start'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim(),
);

const ldapEnv = {
  CX_LDAP_URL: peer.url,
  CX_LDAP_BIND_DN: peer.bindDn,
  CX_LDAP_BIND_PASSWORD: peer.bindPassword,
  CX_LDAP_USER_BASE_DN: peer.userBaseDn,
  CX_LDAP_GROUP_BASE_DN: peer.groupBaseDn,
};

function startLdapCx(env = {}, dataDir) {
  return startCx({ env: { ...ldapEnv, ...env }, dataDir });
}

/** One timed login; fails the benchmark unless it answers 200 with the expected groups. */
async function timedLogin(base, username, password, minGroups = 0) {
  const started = performance.now();
  const response = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json();
  const ms = performance.now() - started;
  if (response.status !== 200)
    throw new Error(`login of ${username} answered ${response.status}: ${JSON.stringify(body)}`);
  if (body.user.groups.length < minGroups)
    throw new Error(`${username} has ${body.user.groups.length} groups, expected ≥ ${minGroups}`);
  return ms;
}

async function series(n, once) {
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(await once(i));
  return samples;
}

/** Nearest-rank percentile. */
function percentile(samples, p) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * The directory work cx does for a login of a user in 1001 groups, with ldapts and nothing else:
 * connect, bind as the service account, find the user (with memberOf), bind as the user, bind back,
 * the paged search of the user's groups, then one level of nesting per round in batches of 100 DNs
 * until no new group turns up (what cx's recursive search does on this non-AD directory).
 */
async function rawDirectoryLogin() {
  const started = performance.now();
  const client = new Client({ url: peer.url, timeout: 5000, connectTimeout: 5000, strictDN: false });
  let groups = 0;
  try {
    await client.bind(peer.bindDn, peer.bindPassword);
    const { searchEntries } = await client.search(peer.userBaseDn, {
      scope: 'sub',
      filter: `(sAMAccountName=${USER})`,
      sizeLimit: 2,
      attributes: ['mail', 'displayName', 'cn', 'memberOf', 'userAccountControl'],
    });
    const user = searchEntries[0];
    if (searchEntries.length !== 1 || !user)
      throw new Error(`raw search found ${searchEntries.length} entries for ${USER}`);
    await client.bind(user.dn, USER_PASSWORD);
    await client.bind(peer.bindDn, peer.bindPassword);
    const found = new Set([].concat(user.memberOf ?? []).map((dn) => String(dn).toLowerCase()));
    const search = async (filter) =>
      (
        await client.search(peer.groupBaseDn, { scope: 'sub', filter, attributes: ['1.1'], paged: { pageSize: 500 } })
      ).searchEntries.map((e) => e.dn);
    const add = (dns) => dns.filter((dn) => !found.has(dn.toLowerCase()) && found.add(dn.toLowerCase()));
    add(await search(`(member=${user.dn})`));
    let frontier = [...found];
    for (let depth = 1; frontier.length > 0 && depth < 10; depth++) {
      const next = [];
      for (let i = 0; i < frontier.length; i += 100) {
        const batch = frontier
          .slice(i, i + 100)
          .map((dn) => `(member=${dn})`)
          .join('');
        next.push(...add(await search(`(|${batch})`)));
      }
      frontier = next;
    }
    groups = found.size;
  } finally {
    await client.unbind().catch(() => undefined);
  }
  if (groups < 1001) throw new Error(`raw resolution found ${groups} groups`);
  return performance.now() - started;
}

/** Connect, bind as the user and read its entry with memberOf: the least any LDAP login costs. */
async function rawBindAndSearch() {
  const started = performance.now();
  const client = new Client({ url: peer.url, timeout: 5000, connectTimeout: 5000, strictDN: false });
  try {
    await client.bind(peer.bindDn, peer.bindPassword);
    const { searchEntries } = await client.search(peer.userBaseDn, {
      scope: 'sub',
      filter: `(sAMAccountName=${USER})`,
      sizeLimit: 2,
      attributes: ['memberOf'],
    });
    if ([].concat(searchEntries[0]?.memberOf ?? []).length !== 1000)
      throw new Error('raw search did not return 1000 memberOf values');
    await client.bind(searchEntries[0].dn, USER_PASSWORD);
  } finally {
    await client.unbind().catch(() => undefined);
  }
  return performance.now() - started;
}

const results = {};

// Baselines first (with a warm-up each), on the same machine and directory.
await series(3, rawDirectoryLogin);
results.rawFull = await series(CACHED, rawDirectoryLogin);
await series(3, rawBindAndSearch);
results.rawMinimal = await series(CACHED, rawBindAndSearch);

// Cold: a fresh cx each time (same data dir, so the user row exists after the first round).
const coldDir = mkdtempSync(join(tmpdir(), 'cx-bench-ldap-cold-'));
results.cold = await series(COLD, async () => {
  const cx = await startLdapCx({}, coldDir);
  try {
    return await timedLogin(cx.base, USER, USER_PASSWORD, 1001);
  } finally {
    await cx.stop();
  }
});
rmSync(coldDir, { recursive: true, force: true });

// Uncached: the group cache off, one process, after a warm-up login.
{
  const cx = await startLdapCx({ CX_LDAP_GROUP_CACHE_TTL_SECONDS: '0' });
  try {
    await series(3, () => timedLogin(cx.base, USER, USER_PASSWORD, 1001));
    results.uncached = await series(UNCACHED, () => timedLogin(cx.base, USER, USER_PASSWORD, 1001));
  } finally {
    await cx.stop();
  }
}

// Cached (default TTL) and the local-login baseline, on one cx.
{
  const cx = await startLdapCx();
  try {
    await series(3, () => timedLogin(cx.base, USER, USER_PASSWORD, 1001));
    results.cached = await series(CACHED, () => timedLogin(cx.base, USER, USER_PASSWORD, 1001));
    await series(3, () => timedLogin(cx.base, 'admin', PASSWORD));
    results.local = await series(Math.min(CACHED, 20), () => timedLogin(cx.base, 'admin', PASSWORD));
  } finally {
    await cx.stop();
  }
}

const fmt = (ms) => ms.toFixed(1);
const rawMedian = percentile(results.rawFull, 50);
const rows = [
  ['cx: `many` cold (fresh cx, empty group cache)', results.cold, `≤ ${COLD_TARGET_MS} ms`],
  ['cx: `many` uncached (TTL 0, warm process)', results.uncached, ''],
  ['cx: `many` cached (default TTL)', results.cached, ''],
  ['baseline: cx local `admin` login (argon2id)', results.local, ''],
  ['baseline: ldapts, same directory work as cx (1001 groups)', results.rawFull, ''],
  ['baseline: ldapts, bind + user search with memberOf only', results.rawMinimal, ''],
];
const table = [
  '| login | n | median ms | p95 ms | median ÷ ldapts same work | target |',
  '|---|---|---|---|---|---|',
  ...rows.map(
    ([label, samples, target]) =>
      `| ${label} | ${samples.length} | ${fmt(percentile(samples, 50))} | ${fmt(percentile(samples, 95))} | ${(percentile(samples, 50) / rawMedian).toFixed(2)} | ${target} |`,
  ),
].join('\n');
const coldMedian = percentile(results.cold, 50);
let slapdVersion = 'slapd';
try {
  slapdVersion =
    readFileSync(join(peer.caFile, '..', 'slapd.log'), 'utf8').match(/OpenLDAP: slapd ([\d.]+)/)?.[0] ?? slapdVersion;
} catch {
  /* log elsewhere */
}
console.log(`\n${table}\n`);
console.log(
  `- Cold target ≤ ${COLD_TARGET_MS} ms: ${coldMedian <= COLD_TARGET_MS ? 'met' : 'NOT met'} (median ${fmt(coldMedian)} ms, max ${fmt(Math.max(...results.cold))} ms).`,
);
console.log(
  `- Directory: ${slapdVersion} on loopback (${peer.url}), plain LDAP; cx-server all-in-one on SQLite, one login at a time from this process.`,
);
console.log(
  `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.\n`,
);
process.exit(0);
