/**
 * LDAP / Active Directory logins end to end, against the real slapd peer (test/peers/slapd.sh,
 * AD-like schema): plain, ldaps:// and StartTLS transports, nested groups (3 levels, a cycle, a user
 * in 1001 groups), refused users and filter injection, the OpenLDAP-style filter, grants to group
 * DNs, audit, lockout, an unreachable or silent directory, and configuration errors at start.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Api, ADMIN_PASSWORD, freePort, startCx, type Answer, type CxProcess } from '../support/cx.js';
import { slapdPeer, type SlapdPeer } from '../support/peers.js';

/** No login may take longer than this, whatever the directory does. */
const LOGIN_DEADLINE_MS = 15_000;

const peer: SlapdPeer = slapdPeer();
const group = (cn: string): string => `cn=${cn},${peer.groupBaseDn}`;
const ALICE_GROUPS = ['cluster-operators', 'platform-team', 'engineering'].map(group);

/** The environment of a cx that logs users in from the slapd peer; `extra` overrides. */
function ldapEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    CX_LDAP_URL: peer.url,
    CX_LDAP_BIND_DN: peer.bindDn,
    CX_LDAP_BIND_PASSWORD: peer.bindPassword,
    CX_LDAP_USER_BASE_DN: peer.userBaseDn,
    CX_LDAP_GROUP_BASE_DN: peer.groupBaseDn,
    // Many failed logins come from 127.0.0.1 in these tests: only the per-user lock is under test.
    CX_AUTH_LOCKOUT_MAX_FAILURES_PER_SOURCE: '100000',
    CX_AUTH_LOCKOUT_MAX_FAILURES_PER_USER: '5',
    // The tests play clients behind a proxy on loopback, which reports their addresses.
    CX_HTTP_TRUSTED_PROXIES: '127.0.0.1,::1',
    ...extra,
  };
}

interface Timed extends Answer {
  ms: number;
}

/** POST /auth/login with a hard deadline, so that a hanging login fails the test instead of stalling it. */
/** A login as the API sees it; `from` is the client address a trusted proxy reports (X-Forwarded-For). */
async function login(base: string, body: Record<string, unknown>, from?: string): Promise<Timed> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(from ? { 'x-forwarded-for': from } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(LOGIN_DEADLINE_MS),
    });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError')
      assert.fail(`login ${JSON.stringify(body)} did not answer within ${LOGIN_DEADLINE_MS} ms`);
    throw error;
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: response.status, headers: response.headers, body: parsed, ms: performance.now() - started };
}

/** A client holding the token of a login that must succeed. */
async function loggedIn(base: string, username: string, password: string, provider?: 'local' | 'ldap'): Promise<Api> {
  const answer = await login(base, { username, password, ...(provider ? { provider } : {}) });
  assert.equal(answer.status, 200, `${username} logs in: ${JSON.stringify(answer.body)}`);
  const api = new Api(base);
  api.token = answer.body.token as string;
  return api;
}

const lower = (dns: string[]): string[] => dns.map((dn) => dn.toLowerCase());

function assertHasGroups(actual: string[], expected: string[], who: string): void {
  const have = new Set(lower(actual));
  for (const dn of expected)
    assert.ok(
      have.has(dn.toLowerCase()),
      `${who}'s groups include ${dn}: ${JSON.stringify(actual.slice(0, 20))}${actual.length > 20 ? ` … (${actual.length})` : ''}`,
    );
}

function assertProblem(answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(answer.body.code, code, JSON.stringify(answer.body));
  const text = JSON.stringify(answer.body);
  assert.doesNotMatch(text, /\bat \S+ \(|\.[cm]?js:\d+:\d+|node:internal/, 'no stack trace in the answer');
  assert.equal(answer.body.stack, undefined);
}

describe('LDAP logins (ldap://, AD-style sAMAccountName filter)', () => {
  let cx: CxProcess;
  let admin: Api;

  before(async () => {
    cx = await startCx({ env: ldapEnv() });
    admin = await Api.login(cx.base);
  });
  after(async () => {
    await cx?.stop();
  });

  it('logs alice in with and without provider; source ldap; her nested groups are resolved 3 levels deep', async () => {
    const explicit = await login(cx.base, { username: 'alice', password: 'alice-pw', provider: 'ldap' });
    assert.equal(explicit.status, 200, JSON.stringify(explicit.body));
    assert.equal(explicit.body.user.username, 'alice');
    assert.equal(explicit.body.user.source, 'ldap');
    assert.equal(explicit.body.user.role, 'user');
    assertHasGroups(explicit.body.user.groups, ALICE_GROUPS, 'alice');
    assert.ok(!lower(explicit.body.user.groups).includes(group('viewers').toLowerCase()), 'alice is not in viewers');

    const implicit = await login(cx.base, { username: 'alice', password: 'alice-pw' });
    assert.equal(implicit.status, 200, JSON.stringify(implicit.body));
    assert.equal(implicit.body.user.source, 'ldap');
    assert.equal(implicit.body.user.id, explicit.body.user.id, 'the same cx user both times');
    assertHasGroups(implicit.body.user.groups, ALICE_GROUPS, 'alice');

    // sAMAccountName matches case-insensitively; cx keeps one user under the lower-cased name.
    const shouting = await login(cx.base, { username: 'ALICE', password: 'alice-pw', provider: 'ldap' });
    assert.equal(shouting.status, 200, JSON.stringify(shouting.body));
    assert.equal(shouting.body.user.id, explicit.body.user.id);

    const api = new Api(cx.base);
    api.token = implicit.body.token;
    const whoami = await api.call('GET', '/api/v1/auth/whoami');
    assert.equal(whoami.status, 200);
    assert.equal(whoami.body.username, 'alice');
    assert.equal(whoami.body.source, 'ldap');
    assertHasGroups(whoami.body.groups, ALICE_GROUPS, 'alice (whoami)');

    const users = await admin.call('GET', '/api/v1/users?limit=500');
    assert.equal(users.status, 200);
    const alices = users.body.items.filter((u: { username: string }) => u.username.toLowerCase() === 'alice');
    assert.equal(alices.length, 1, JSON.stringify(alices));
    assert.equal(alices[0].source, 'ldap');
  });

  it('resolves 1001 groups for many (1000 direct + bulk-parent) and follows the cycle-a/cycle-b cycle without hanging', async () => {
    const many = await login(cx.base, { username: 'many', password: 'many-pw', provider: 'ldap' });
    assert.equal(many.status, 200, JSON.stringify(many.body).slice(0, 500));
    const groups: string[] = many.body.user.groups;
    assert.ok(groups.length >= 1001, `many has ${groups.length} groups`);
    assert.equal(new Set(lower(groups)).size, groups.length, 'no group twice');
    assertHasGroups(
      groups,
      [`cn=g0000,ou=bulk,${peer.groupBaseDn}`, `cn=g0999,ou=bulk,${peer.groupBaseDn}`, group('bulk-parent')],
      'many',
    );

    const bob = await login(cx.base, { username: 'bob', password: 'bob-pw', provider: 'ldap' });
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    assertHasGroups(bob.body.user.groups, [group('viewers'), group('cycle-a'), group('cycle-b')], 'bob');
    assert.equal(
      new Set(lower(bob.body.user.groups)).size,
      bob.body.user.groups.length,
      'the cycle adds no duplicates',
    );
    assert.ok(bob.ms < LOGIN_DEADLINE_MS, `bob's login took ${Math.round(bob.ms)} ms`);

    const dave = await login(cx.base, { username: 'dave', password: 'dave-pw', provider: 'ldap' });
    assert.equal(dave.status, 200, JSON.stringify(dave.body));
    assert.deepEqual(dave.body.user.groups, []);
  });

  it('refuses disabled, wrong-password, unknown and injected logins with 401, and creates no user for them', async () => {
    const carol = await login(cx.base, { username: 'carol', password: 'carol-pw', provider: 'ldap' });
    assertProblem(carol, 401, 'CX_LOGIN_FAILED');
    assert.match(carol.body.detail, /disabled/);

    const wrong = await login(cx.base, { username: 'dave', password: 'not-dave-pw', provider: 'ldap' });
    assertProblem(wrong, 401, 'CX_LOGIN_FAILED');
    assert.doesNotMatch(wrong.body.detail, /disabled/);
    const unknown = await login(cx.base, { username: 'nobody', password: 'nobody-pw', provider: 'ldap' });
    assertProblem(unknown, 401, 'CX_LOGIN_FAILED');
    assert.equal(unknown.body.detail, wrong.body.detail, 'an unknown user and a wrong password look the same');
    assertProblem(await login(cx.base, { username: 'nobody', password: 'nobody-pw' }), 401, 'CX_LOGIN_FAILED');

    // Filter injection: each would match alice (or everyone) if {username} were not escaped.
    for (const username of [
      '*',
      'a*',
      '*)(sAMAccountName=*',
      'alice)(uid=*',
      'alice)(|(objectClass=*)',
      'alice\\2a',
      '(alice)',
      'alice\u0000',
      ' ',
    ]) {
      for (const password of ['alice-pw', '*']) {
        const answer = await login(cx.base, { username, password, provider: 'ldap' });
        assertProblem(answer, 401, 'CX_LOGIN_FAILED');
      }
    }
    // An empty password would be an anonymous bind, which the directory accepts: refused before it.
    const empty = await login(cx.base, { username: 'alice', password: '', provider: 'ldap' });
    assert.ok(empty.status === 400 || empty.status === 401, `empty password: ${empty.status}`);
    // The local admin is not in the directory; an LDAP user is not a local user.
    assertProblem(
      await login(cx.base, { username: 'admin', password: ADMIN_PASSWORD, provider: 'ldap' }),
      401,
      'CX_LOGIN_FAILED',
    );
    assertProblem(
      await login(cx.base, { username: 'alice', password: 'alice-pw', provider: 'local' }),
      401,
      'CX_LOGIN_FAILED',
    );

    const names = (await admin.call('GET', '/api/v1/users?limit=500')).body.items.map(
      (u: { username: string }) => u.username,
    );
    for (const name of ['carol', 'nobody', '*', 'alice)(uid=*'])
      assert.ok(!names.includes(name), `no user ${name}: ${JSON.stringify(names)}`);
  });

  it('audits LDAP logins, successes and failures, with source address and request id', async () => {
    await loggedIn(cx.base, 'alice', 'alice-pw', 'ldap');
    const failed = await login(cx.base, { username: 'alice', password: 'not-alice-pw', provider: 'ldap' });
    assertProblem(failed, 401, 'CX_LOGIN_FAILED');
    await loggedIn(cx.base, 'alice', 'alice-pw', 'ldap'); // clears alice's failure count for the tests after this one

    const audit = await admin.call('GET', '/api/v1/audit?action=auth.login&actor=alice&limit=100');
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    const entries: Array<{
      actor: string;
      action: string;
      outcome: string;
      sourceIp: string;
      requestId: string;
      details: { code?: string } | null;
    }> = audit.body.items;
    assert.ok(entries.length > 0);
    assert.ok(
      entries.every((e) => e.actor === 'alice' && e.action === 'auth.login'),
      JSON.stringify(entries),
    );
    const successes = entries.filter((e) => e.outcome === 'success');
    const failures = entries.filter((e) => e.outcome === 'failure');
    assert.ok(successes.length >= 2, `successes: ${successes.length}`);
    assert.ok(failures.length >= 1, `failures: ${failures.length}`);
    assert.ok(
      failures.some((e) => e.details?.code === 'CX_LOGIN_FAILED'),
      JSON.stringify(failures),
    );
    assert.ok(
      failures.some((e) => e.requestId === failed.body.requestId),
      'the failure is audited under the request id the caller saw',
    );
    for (const entry of [...successes, ...failures]) {
      assert.match(entry.sourceIp, /127\.0\.0\.1/, JSON.stringify(entry));
      assert.ok(entry.requestId, JSON.stringify(entry));
    }
  });

  it('a grant to a group DN reaches alice through nesting; dave, in no group, sees nothing', async () => {
    const created = await admin.call('POST', '/api/v1/clusters', {
      name: 'ldap-demo',
      provider: 'sim',
      kubernetesVersion: '1.31.4',
      controlPlane: { count: 1 },
      nodePools: [],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const clusterId: string = created.body.cluster.id;
    // alice is in engineering only through platform-team ← cluster-operators; the grant's DN is
    // spelled in another case than the directory's, and must still match.
    const grant = await admin.call('POST', '/api/v1/grants', {
      subject: { kind: 'group', name: group('engineering').toUpperCase().replace('DC=CX,DC=TEST', 'dc=cx,dc=TEST') },
      object: { kind: 'global' },
      role: 'viewer',
    });
    assert.equal(grant.status, 201, JSON.stringify(grant.body));

    const alice = await loggedIn(cx.base, 'alice', 'alice-pw', 'ldap');
    const dave = await loggedIn(cx.base, 'dave', 'dave-pw', 'ldap');
    const aliceGet = await alice.call('GET', `/api/v1/clusters/${clusterId}`);
    assert.equal(aliceGet.status, 200, JSON.stringify(aliceGet.body));
    assert.equal(aliceGet.body.name, 'ldap-demo');
    assert.equal((await dave.call('GET', `/api/v1/clusters/${clusterId}`)).status, 404);
    const aliceList = await alice.call('GET', '/api/v1/clusters?limit=500');
    assert.equal(aliceList.status, 200);
    assert.ok(
      aliceList.body.items.some((c: { id: string }) => c.id === clusterId),
      JSON.stringify(aliceList.body.items),
    );
    const daveList = await dave.call('GET', '/api/v1/clusters?limit=500');
    assert.equal(daveList.status, 200);
    assert.deepEqual(daveList.body.items, []);
    // A viewer may look but not change.
    assert.equal((await alice.call('DELETE', `/api/v1/clusters/${clusterId}`)).status, 403);
  });

  it("searches the directory's groups by part of their name for admins only: escaped, bounded by limit, more when more match", async () => {
    const search = (query: string) => admin.call('GET', `/api/v1/directory/groups?${query}`);
    const operators = await search('search=OPERAT');
    assert.equal(operators.status, 200, JSON.stringify(operators.body));
    assert.deepEqual(operators.body, {
      items: [{ name: 'cluster-operators', dn: group('cluster-operators'), source: 'ldap' }],
      more: false,
    });
    const team = (await search('search=team')).body;
    assert.deepEqual(
      team.items.map((g: { name: string }) => g.name),
      ['platform-team'],
    );

    // ou=bulk holds g0000..g0999: more than any limit, and more than slapd's own size limit (1000).
    const five = await search('search=g0&limit=5');
    assert.equal(five.status, 200, JSON.stringify(five.body));
    assert.equal(five.body.items.length, 5);
    assert.equal(five.body.more, true);
    assert.ok(
      five.body.items.every((g: { name: string }) => /^g0\d{3}$/.test(g.name)),
      JSON.stringify(five.body),
    );
    const hundred = (await search('search=g0&limit=100')).body;
    assert.equal(hundred.items.length, 100);
    assert.equal(hundred.more, true);
    const anyGroup = (await search('')).body;
    assert.equal(anyGroup.items.length, 20, 'the default limit');
    assert.equal(anyGroup.more, true);
    assert.equal((await search('search=bulk-parent&limit=1')).body.more, false, 'exactly one match is not more');

    // Filter injection: the text is matched literally, so it finds no group and no user entry.
    const settingsBefore = (await admin.call('GET', '/api/v1/settings/ldap')).body;
    for (const hostile of ['*)(uid=*', '*', ')(objectClass=*', 'alice)(|(cn=*', '\\2a'])
      assert.deepEqual(
        (await search(`search=${encodeURIComponent(hostile)}`)).body,
        { items: [], more: false },
        `search ${hostile}`,
      );
    assert.deepEqual((await admin.call('GET', '/api/v1/settings/ldap')).body, settingsBefore, 'nothing changed');

    assertProblem(await search('limit=101'), 400, 'CX_INPUT_INVALID');
    assertProblem(await search(`search=${'x'.repeat(129)}`), 400, 'CX_INPUT_INVALID');
    const alice = await loggedIn(cx.base, 'alice', 'alice-pw', 'ldap');
    assertProblem(await alice.call('GET', '/api/v1/directory/groups?search=operat'), 403, 'CX_NOT_ALLOWED');
  });

  it('locks bob after 5 wrong LDAP passwords against other sources, not where he signed in before, until an admin unlocks him', async () => {
    await loggedIn(cx.base, 'bob', 'bob-pw', 'ldap'); // from here: bob's known source, and a cx user an admin can find
    for (let i = 1; i <= 5; i++) {
      const answer = await login(
        cx.base,
        { username: 'bob', password: `guess-${i}`, provider: 'ldap' },
        '198.51.100.7',
      );
      assert.equal(answer.status, 401, `attempt ${i}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    const locked = await login(cx.base, { username: 'bob', password: 'bob-pw', provider: 'ldap' }, '198.51.100.8');
    assertProblem(locked, 423, 'CX_ACCOUNT_LOCKED');
    assert.ok(Number(locked.headers.get('retry-after')) > 0 || locked.body.retryAfter > 0, 'says when to retry');
    assertProblem(
      await login(cx.base, { username: 'bob', password: 'bob-pw' }, '198.51.100.9'),
      423,
      'CX_ACCOUNT_LOCKED',
    );
    // Guessing elsewhere does not lock bob out of where he works.
    await loggedIn(cx.base, 'bob', 'bob-pw', 'ldap');

    const users = await admin.call('GET', '/api/v1/users?limit=500');
    const bob = users.body.items.find((u: { username: string }) => u.username === 'bob');
    assert.ok(bob, `bob is listed: ${JSON.stringify(users.body.items.map((u: { username: string }) => u.username))}`);
    assert.equal(bob.source, 'ldap');
    const unlocked = await admin.call('POST', `/api/v1/users/${bob.id}/unlock`);
    assert.equal(unlocked.status, 200, JSON.stringify(unlocked.body));
    for (const from of ['198.51.100.7', '198.51.100.8'])
      assert.equal((await login(cx.base, { username: 'bob', password: 'bob-pw', provider: 'ldap' }, from)).status, 200);
  });
});

describe('LDAP over TLS (ldaps://, StartTLS) and the CA file', () => {
  const started: Record<string, CxProcess> = {};
  const variants: Record<string, Record<string, string>> = {
    ldaps: ldapEnv({ CX_LDAP_URL: peer.ldapsUrl, CX_LDAP_CA_FILE: peer.caFile }),
    startTls: ldapEnv({ CX_LDAP_START_TLS: 'true', CX_LDAP_CA_FILE: peer.caFile }),
    ldapsNoCa: ldapEnv({ CX_LDAP_URL: peer.ldapsUrl }),
    startTlsNoCa: ldapEnv({ CX_LDAP_START_TLS: 'true' }),
    // OpenLDAP-style filter, with the in-house recursive search named explicitly.
    uidFilter: ldapEnv({ CX_LDAP_USER_FILTER: '(uid={username})', CX_LDAP_NESTED_GROUPS: 'recursive' }),
  };
  const cx = (name: string): CxProcess => {
    const process = started[name];
    assert.ok(process, `cx ${name} started`);
    return process;
  };

  before(async () => {
    const results = await Promise.allSettled(
      Object.entries(variants).map(async ([name, env]) => {
        started[name] = await startCx({ env });
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  after(async () => {
    await Promise.all(Object.values(started).map((p) => p.stop()));
  });

  for (const name of ['ldaps', 'startTls']) {
    it(`logs alice in over ${name} with CX_LDAP_CA_FILE`, async () => {
      const answer = await login(cx(name).base, { username: 'alice', password: 'alice-pw', provider: 'ldap' });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.user.source, 'ldap');
      assertHasGroups(answer.body.user.groups, ALICE_GROUPS, 'alice');
      // Each login opens its own connection: the second and third must negotiate TLS as well as the first.
      assertProblem(
        await login(cx(name).base, { username: 'alice', password: 'wrong', provider: 'ldap' }),
        401,
        'CX_LOGIN_FAILED',
      );
      await loggedIn(cx(name).base, 'bob', 'bob-pw', 'ldap');
    });
  }

  for (const name of ['ldapsNoCa', 'startTlsNoCa']) {
    it(`answers 503 naming the CA file over ${name === 'ldapsNoCa' ? 'ldaps://' : 'StartTLS'} without CX_LDAP_CA_FILE`, async () => {
      for (let attempt = 1; attempt <= 2; attempt++) {
        const answer = await login(cx(name).base, { username: 'alice', password: 'alice-pw', provider: 'ldap' });
        assertProblem(answer, 503, 'CX_DEPENDENCY_UNAVAILABLE');
        assert.match(answer.body.detail, /caFile|CX_LDAP_CA_FILE/, `attempt ${attempt}: ${answer.body.detail}`);
        assert.ok(answer.ms < 10_000, `answered in ${Math.round(answer.ms)} ms`);
      }
      // The local admin is unaffected.
      await loggedIn(cx(name).base, 'admin', ADMIN_PASSWORD);
    });
  }

  it('works with the OpenLDAP-style filter (uid={username}) and escapes it too', async () => {
    const base = cx('uidFilter').base;
    const answer = await login(base, { username: 'alice', password: 'alice-pw' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.user.username, 'alice');
    assertHasGroups(answer.body.user.groups, ALICE_GROUPS, 'alice');
    const bob = await login(base, { username: 'bob', password: 'bob-pw' });
    assert.equal(bob.status, 200, JSON.stringify(bob.body));
    assertHasGroups(bob.body.user.groups, [group('viewers'), group('cycle-a'), group('cycle-b')], 'bob');
    assertProblem(await login(base, { username: 'carol', password: 'carol-pw' }), 401, 'CX_LOGIN_FAILED');
    for (const username of ['*', 'alice)(uid=*', '*)(|(uid=*'])
      assertProblem(await login(base, { username, password: 'alice-pw', provider: 'ldap' }), 401, 'CX_LOGIN_FAILED');
  });
});

/**
 * A directory that accepts StartTLS (answers the extended operation with success) and then never
 * takes part in the TLS handshake. Requests are short, so their BER lengths are in short form.
 */
function stallingStartTls(sockets: Set<Socket>): Server {
  return createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (request) => {
      // LDAPMessage ::= 30 len (02 idLen id…) (77 … ExtendedRequest)
      const idLength = request[3] ?? 1;
      const messageId = request.subarray(2, 4 + idLength);
      const result = Buffer.from([0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]); // success, no matchedDN, no message
      const body = Buffer.concat([messageId, Buffer.from([0x78, result.length]), result]);
      socket.write(Buffer.concat([Buffer.from([0x30, body.length]), body]));
    });
  });
}

describe('LDAP unreachable or silent', () => {
  let down: CxProcess;
  let silent: CxProcess;
  let stalledTls: CxProcess;
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const listen = async (server: Server): Promise<number> => {
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return (server.address() as { port: number }).port;
  };

  before(async () => {
    // Accepts connections and never answers a byte.
    const blackHolePort = await listen(
      createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }),
    );
    const stallingPort = await listen(stallingStartTls(sockets));
    const closedPort = await freePort(); // nothing listens there once freePort has answered
    // All three settle before a failure is thrown: when one fails to start, `after` still stops
    // the others (a cx left running keeps this file from ever ending).
    const results = await Promise.allSettled([
      startCx({ env: ldapEnv({ CX_LDAP_URL: `ldap://127.0.0.1:${closedPort}`, CX_LDAP_TIMEOUT_MS: '2000' }) }),
      startCx({ env: ldapEnv({ CX_LDAP_URL: `ldap://127.0.0.1:${blackHolePort}`, CX_LDAP_TIMEOUT_MS: '500' }) }),
      startCx({
        env: ldapEnv({
          CX_LDAP_URL: `ldap://127.0.0.1:${stallingPort}`,
          CX_LDAP_START_TLS: 'true',
          CX_LDAP_CA_FILE: peer.caFile,
          CX_LDAP_TIMEOUT_MS: '500',
        }),
      }),
    ]);
    [down, silent, stalledTls] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined)) as [
      CxProcess,
      CxProcess,
      CxProcess,
    ];
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  after(async () => {
    await Promise.all([down?.stop(), silent?.stop(), stalledTls?.stop()]);
    for (const socket of sockets) socket.destroy();
    await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  });

  it('answers 503 CX_DEPENDENCY_UNAVAILABLE at once when nothing listens, and local users still log in', async () => {
    for (const body of [
      { username: 'alice', password: 'alice-pw', provider: 'ldap' },
      { username: 'alice', password: 'alice-pw' },
    ]) {
      const answer = await login(down.base, body);
      assertProblem(answer, 503, 'CX_DEPENDENCY_UNAVAILABLE');
      assert.match(answer.body.detail, /CX_LDAP_URL|auth\.ldap\.url/, answer.body.detail);
      assert.ok(answer.ms < 10_000, `answered in ${Math.round(answer.ms)} ms`);
    }
    await loggedIn(down.base, 'admin', ADMIN_PASSWORD);
    await loggedIn(down.base, 'admin', ADMIN_PASSWORD, 'local');
  });

  it('answers 503 naming CX_LDAP_URL when an admin searches the groups of a directory that is down', async () => {
    const admin = await loggedIn(down.base, 'admin', ADMIN_PASSWORD);
    const answer = await admin.call('GET', '/api/v1/directory/groups?search=operat');
    assertProblem(answer, 503, 'CX_DEPENDENCY_UNAVAILABLE');
    assert.match(answer.body.detail, /CX_LDAP_URL|auth\.ldap\.url/, answer.body.detail);
  });

  it('answers 503 within a few seconds when the directory accepts but never answers (CX_LDAP_TIMEOUT_MS=500)', async () => {
    const answer = await login(silent.base, { username: 'alice', password: 'alice-pw', provider: 'ldap' });
    assertProblem(answer, 503, 'CX_DEPENDENCY_UNAVAILABLE');
    assert.ok(answer.ms < 10_000, `answered in ${Math.round(answer.ms)} ms`);
    assert.ok(sockets.size > 0 || answer.ms >= 400, 'cx did reach the silent directory');
    await loggedIn(silent.base, 'admin', ADMIN_PASSWORD);
  });

  it('answers 503 within a few seconds when the directory accepts StartTLS and then stalls the TLS handshake (CX_LDAP_TIMEOUT_MS=500)', async () => {
    const answer = await login(stalledTls.base, { username: 'alice', password: 'alice-pw', provider: 'ldap' });
    assertProblem(answer, 503, 'CX_DEPENDENCY_UNAVAILABLE');
    assert.ok(answer.ms < 10_000, `answered in ${Math.round(answer.ms)} ms`);
    assert.match(answer.body.detail, /LDAP/, 'names the directory, not another service');
    await loggedIn(stalledTls.base, 'admin', ADMIN_PASSWORD);
  });

  it('does not count an unavailable directory as a failed password (no lockout)', async () => {
    for (let i = 0; i < 6; i++)
      assertProblem(
        await login(down.base, { username: 'eve', password: 'eve-pw', provider: 'ldap' }),
        503,
        'CX_DEPENDENCY_UNAVAILABLE',
      );
    const admin = await Api.login(down.base);
    const audit = await admin.call('GET', '/api/v1/audit?action=auth.login&actor=eve&limit=100');
    assert.ok(audit.body.items.length >= 6, `audited: ${audit.body.items.length}`);
    assert.ok(
      audit.body.items.every(
        (e: { outcome: string; details: { code?: string } }) =>
          e.outcome === 'failure' && e.details.code === 'CX_DEPENDENCY_UNAVAILABLE',
      ),
      JSON.stringify(audit.body.items),
    );
  });
});

describe('invalid LDAP configuration', () => {
  it('refuses to start, naming the key: no user base DN, or a CA file that does not exist', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [
        { CX_LDAP_URL: peer.url, CX_LDAP_BIND_DN: peer.bindDn, CX_LDAP_BIND_PASSWORD: peer.bindPassword },
        /auth\.ldap\.userBaseDn/,
      ],
      [ldapEnv({ CX_LDAP_CA_FILE: '/nonexistent/ca.pem' }), /auth\.ldap\.caFile/],
    ];
    await Promise.all(
      cases.map(async ([env, key]) => {
        let started: CxProcess | undefined;
        try {
          started = await startCx({ env });
        } catch (error) {
          const message = (error as Error).message;
          assert.match(message, /cx exited with [1-9]\d* before it was ready/, message);
          assert.match(message, key, message);
          return;
        } finally {
          await started?.stop();
        }
        assert.fail(`cx started with ${JSON.stringify(env)}; expected it to refuse naming ${key}`);
      }),
    );
  });
});
