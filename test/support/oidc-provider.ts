/**
 * A real OpenID Connect identity provider (the `oidc-provider` package) on 127.0.0.1, for tests that
 * need cx to log users in through OIDC. Tests talk to it over HTTP only: discovery, the authorization
 * and token endpoints, and its HTML forms, which `browserLogin` / `approveDevice` fill in like a browser.
 *
 * The login form really checks passwords (oidc-provider's devInteractions accept any login, so they are
 * off and the tiny /interaction/:uid handlers below replace them).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// @ts-expect-error -- oidc-provider ships no type declarations (they live in @types/oidc-provider, not installed); the few members used are typed below.
import Provider from 'oidc-provider';

export interface OidcAccount {
  username: string;
  password: string;
  email?: string;
  groups: string[];
}

export interface OidcPeer {
  /** e.g. http://127.0.0.1:PORT (discovery at issuer + '/.well-known/openid-configuration'). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
  /** Plays the browser for an authorization URL: follows redirects, submits the login form with the
   *  account's credentials (and the consent form), and returns the final redirect Location that points at the
   *  client's redirect_uri (with ?code=…&state=… or ?error=…), WITHOUT requesting it. Throws on wrong password with a clear message. */
  browserLogin(authorizationUrl: string, username: string, password: string): Promise<string>;
  /** Approves a device-authorization user code as the given user (device flow, RFC 8628), through the provider's own HTML forms. */
  approveDevice(userCode: string, username: string, password: string): Promise<void>;
}

export interface OidcProviderOptions {
  accounts: OidcAccount[];
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  /** Name of the claim carrying the group names (scope `groups`); default 'groups'. */
  groupsClaim?: string;
  port?: number;
  /** `interval` (seconds) advertised in device authorization responses; unset means RFC 8628's default of 5 s. */
  deviceInterval?: number;
}

/** The parts of oidc-provider's (untyped) API this module uses. */
interface InteractionDetails {
  uid: string;
  prompt: {
    name: string;
    details: {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
  };
  params: Record<string, unknown> & { client_id?: string };
  session?: { accountId?: string };
  grantId?: string;
}
interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: object,
    options: { mergeWithLastSubmission: boolean },
  ): Promise<void>;
  Grant: {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  };
  on(event: string, listener: (...args: any[]) => void): unknown;
}
type ProviderConstructor = new (issuer: string, configuration: object) => ProviderInstance;

const DEVICE_SUCCESS_MARKER = 'data-oidc-device-approved';

export async function startOidcProvider(opts: OidcProviderOptions): Promise<OidcPeer> {
  const clientId = opts.clientId ?? 'cx-test-client';
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString('base64url');
  const groupsClaim = opts.groupsClaim ?? 'groups';
  const accounts = new Map(opts.accounts.map((a) => [a.username, a]));

  // Listen first (port 0 = any free port) so the issuer carries the real port; the request handler is
  // attached once the provider exists (nobody knows the port before this function returns).
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A fresh RS256 signing key (instead of oidc-provider's built-in development keys).
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const configuration = {
    adapter: memoryAdapter(),
    jwks: { keys: [{ ...jwk, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        // 'web' clients may use http redirect URIs for the code flow (only implicit requires https);
        // loopback ports must then match exactly.
        application_type: 'web',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        redirect_uris: opts.redirectUris,
      },
    ],
    // oidc-provider treats client_secret_basic and client_secret_post as interchangeable for a client
    // registered with either, so both work at the token endpoint.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    pkce: { required: () => true },
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
      groups: [groupsClaim],
    },
    // Scope-requested claims go into the id_token too, not only into userinfo.
    conformIdTokenClaims: false,
    // Refresh tokens whenever the client may use them (not only with offline_access + prompt=consent).
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    findAccount: (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: account.username,
        claims: () => ({
          sub: account.username,
          preferred_username: account.username,
          name: account.username,
          ...(account.email === undefined ? {} : { email: account.email, email_verified: true }),
          [groupsClaim]: [...account.groups],
        }),
      };
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: (ctx: { body: string }, form: string, _out: unknown, err?: Error) => {
          ctx.body = page(
            'Device sign-in',
            `${err ? `<p class="error">${escapeHtml(err.name)}: ${escapeHtml(err.message)}</p>` : ''}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`,
          );
        },
        userCodeConfirmSource: (
          ctx: { body: string },
          form: string,
          _client: unknown,
          _info: unknown,
          userCode: string,
        ) => {
          ctx.body = page(
            'Confirm device',
            `<p>Code <code>${escapeHtml(userCode)}</code></p>${form}<button type="submit" form="op.deviceConfirmForm">Continue</button>`,
          );
        },
        successSource: (ctx: { body: string }) => {
          ctx.body = page(
            'Device approved',
            `<p ${DEVICE_SUCCESS_MARKER}>Sign-in successful, you can close this page.</p>`,
          );
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx: { body: string }, form: string) => {
          ctx.body = page(
            'Sign out',
            `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
          );
        },
        postLogoutSuccessSource: (ctx: { body: string }) => {
          ctx.body = page('Signed out', '<p>Signed out.</p>');
        },
      },
    },
    renderError: (ctx: { type: string; body: string }, out: Record<string, unknown>) => {
      ctx.type = 'html';
      ctx.body = page(
        'Error',
        Object.entries(out)
          .map(([k, v]) => `<p class="error">${escapeHtml(k)}: ${escapeHtml(String(v))}</p>`)
          .join(''),
      );
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: 600,
      Grant: 86400,
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: 86400,
      Session: 86400,
    },
    clientBasedCORS: () => false,
  };

  let provider: ProviderInstance;
  try {
    provider = new (Provider as ProviderConstructor)(issuer, configuration);
  } catch (error) {
    server.close();
    throw error;
  }
  provider.on('server_error', (_ctx: unknown, error: unknown) =>
    console.error('oidc test provider: server_error', error),
  );
  if (opts.deviceInterval !== undefined) {
    const interval = opts.deviceInterval;
    provider.on('device_authorization.success', (_ctx: unknown, body: Record<string, unknown>) => {
      body['interval'] = interval;
    });
  }
  const providerCallback = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (path.startsWith('/interaction/')) {
      interaction(provider, accounts, req, res, path.slice('/interaction/'.length)).catch((error: unknown) => {
        console.error('oidc test provider: interaction handler failed', error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`interaction failed: ${String(error)}`);
      });
    } else {
      providerCallback(req, res);
    }
  });
  const issuerOrigin = new URL(issuer).origin;

  return {
    issuer,
    clientId,
    clientSecret,
    async close() {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },

    async browserLogin(authorizationUrl, username, password) {
      const browser = new Browser();
      let response = await browser.request(authorizationUrl);
      for (let step = 0; step < 20; step++) {
        if (response.location !== undefined) {
          if (new URL(response.location).origin !== issuerOrigin) return response.location;
          response = await browser.request(response.location);
          continue;
        }
        const forms = parseForms(response.body, response.url);
        const login = forms.find((f) => f.fields.has('password'));
        const consent = forms.find((f) => f.fields.get('prompt') === 'consent');
        if (login) {
          response = await browser.submit(login, { login: username, password });
          if (response.status === 401)
            throw new Error(
              `OIDC login as "${username}" was rejected by the identity provider: ${textOf(response.body)}`,
            );
        } else if (consent) {
          response = await browser.submit(consent, {});
        } else {
          throw new Error(
            `browserLogin: unexpected page from the identity provider (HTTP ${response.status} at ${response.url}): ${textOf(response.body)}`,
          );
        }
      }
      throw new Error('browserLogin: too many steps without reaching the redirect_uri');
    },

    async approveDevice(userCode, username, password) {
      const browser = new Browser();
      let response = await browser.request(`${issuer}/device`);
      for (let step = 0; step < 20; step++) {
        if (response.location !== undefined) {
          response = await browser.request(response.location);
          continue;
        }
        if (response.status === 200 && response.body.includes(DEVICE_SUCCESS_MARKER)) return;
        const forms = parseForms(response.body, response.url);
        const input = forms.find((f) => f.fields.has('user_code') && !f.fields.has('confirm'));
        const confirm = forms.find((f) => f.fields.get('confirm') === 'yes');
        const login = forms.find((f) => f.fields.has('password'));
        const consent = forms.find((f) => f.fields.get('prompt') === 'consent');
        if (input && !response.body.includes('class="error"'))
          response = await browser.submit(input, { user_code: userCode });
        else if (confirm) response = await browser.submit(confirm, {});
        else if (login) {
          response = await browser.submit(login, { login: username, password });
          if (response.status === 401)
            throw new Error(
              `OIDC login as "${username}" was rejected by the identity provider: ${textOf(response.body)}`,
            );
        } else if (consent) response = await browser.submit(consent, {});
        else
          throw new Error(
            `approveDevice: unexpected page from the identity provider (HTTP ${response.status} at ${response.url}): ${textOf(response.body)}`,
          );
      }
      throw new Error('approveDevice: too many steps without reaching the success page');
    },
  };
}

/** GET/POST /interaction/:uid — login (checks the password) and consent. */
async function interaction(
  provider: ProviderInstance,
  accounts: Map<string, OidcAccount>,
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
): Promise<void> {
  let details: InteractionDetails;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (error) {
    res
      .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
      .end(page('Error', `<p class="error">${escapeHtml(String(error))}</p>`));
    return;
  }
  if (details.uid !== uid) {
    res
      .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
      .end(page('Error', '<p class="error">interaction cookie does not match the URL</p>'));
    return;
  }
  const { name } = details.prompt;
  const action = `/interaction/${encodeURIComponent(uid)}`;
  const loginForm = (error?: string) =>
    page(
      'Sign in',
      `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}<form method="post" action="${action}">
<input type="hidden" name="prompt" value="login"/>
<input type="text" name="login" autofocus/>
<input type="password" name="password"/>
<button type="submit">Sign in</button>
</form>`,
    );
  const send = (status: number, html: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  };

  if (req.method === 'GET') {
    if (name === 'login') send(200, loginForm());
    else if (name === 'consent') {
      const scopes = details.prompt.details.missingOIDCScope ?? [];
      send(
        200,
        page(
          'Authorize',
          `<p>${escapeHtml(details.params.client_id ?? '')} asks for: ${escapeHtml(scopes.join(' '))}</p><form method="post" action="${action}">
<input type="hidden" name="prompt" value="consent"/>
<button type="submit">Allow</button>
</form>`,
        ),
      );
    } else send(501, page('Error', `<p class="error">prompt ${escapeHtml(name)} is not implemented</p>`));
    return;
  }
  if (req.method !== 'POST') {
    send(405, page('Error', '<p class="error">method not allowed</p>'));
    return;
  }

  const form = new URLSearchParams(await readBody(req));
  const submitted = form.get('prompt');
  if (submitted !== name) {
    send(
      400,
      page(
        'Error',
        `<p class="error">submitted ${escapeHtml(String(submitted))} but the pending prompt is ${escapeHtml(name)}</p>`,
      ),
    );
    return;
  }
  if (name === 'login') {
    const account = accounts.get(form.get('login') ?? '');
    if (!account || account.password !== form.get('password')) {
      send(401, loginForm('Invalid username or password.'));
      return;
    }
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.username } },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  // consent: grant whatever the prompt says is missing.
  const accountId = details.session?.accountId;
  const clientId = details.params.client_id;
  if (accountId === undefined || clientId === undefined)
    throw new Error('consent without a logged-in session or client_id');
  const grant =
    (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ??
    new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(indicator, scopes.join(' '));
  await provider.interactionFinished(
    req,
    res,
    { consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: true },
  );
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unescapeHtml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, entity: string) => {
    const lower = entity.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[lower] ?? '';
  });
}

/** A page's text without tags, for error messages. */
function textOf(html: string): string {
  return unescapeHtml(html.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500);
}

interface HtmlForm {
  action: string;
  method: string;
  fields: Map<string, string>;
}

function attributes(tag: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const m of tag.matchAll(/([a-zA-Z_:][-\w:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    result.set(m[1]!.toLowerCase(), unescapeHtml(m[2] ?? m[3] ?? ''));
  }
  return result;
}

/** The forms of a page with their named inputs' values (enough for oidc-provider's and our own forms). */
function parseForms(html: string, pageUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[1]!);
    const fields = new Map<string, string>();
    for (const input of m[2]!.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1]!);
      const name = a.get('name');
      if (name !== undefined) fields.set(name, a.get('value') ?? '');
    }
    forms.push({
      action: new URL(attrs.get('action') ?? pageUrl, pageUrl).href,
      method: (attrs.get('method') ?? 'get').toUpperCase(),
      fields,
    });
  }
  return forms;
}

interface BrowserResponse {
  url: string;
  status: number;
  location?: string;
  body: string;
}

/** fetch with redirect: 'manual' and a minimal cookie jar (name, value, path; host-only for 127.0.0.1). */
class Browser {
  private readonly cookies = new Map<string, { name: string; value: string; path: string; expires: number }>();

  async request(url: string, init: { method?: string; form?: URLSearchParams } = {}): Promise<BrowserResponse> {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    const cookie = [...this.cookies.values()]
      .filter((c) => c.expires > Date.now() && pathMatches(target.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    if (cookie) headers['cookie'] = cookie;
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(target, {
      method: init.method ?? 'GET',
      headers,
      body: init.form?.toString(),
      redirect: 'manual',
    });
    for (const header of response.headers.getSetCookie()) this.store(header, target);
    const body = await response.text();
    const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
    return {
      url: target.href,
      status: response.status,
      body,
      ...(location === null ? {} : { location: new URL(location, target).href }),
    };
  }

  submit(form: HtmlForm, values: Record<string, string>): Promise<BrowserResponse> {
    const data = new URLSearchParams([...form.fields]);
    for (const [k, v] of Object.entries(values)) data.set(k, v);
    if (form.method === 'GET') {
      const url = new URL(form.action);
      url.search = data.toString();
      return this.request(url.href);
    }
    return this.request(form.action, { method: form.method, form: data });
  }

  private store(header: string, requestUrl: URL): void {
    const [pair = '', ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const defaultPath = requestUrl.pathname.slice(0, Math.max(1, requestUrl.pathname.lastIndexOf('/')));
    let path = defaultPath;
    let expires = Infinity;
    for (const attr of attrs) {
      const [key = '', ...rest] = attr.split('=');
      const v = rest.join('=').trim();
      switch (key.trim().toLowerCase()) {
        case 'path':
          path = v.startsWith('/') ? v : defaultPath;
          break;
        case 'expires': {
          const t = Date.parse(v);
          if (!Number.isNaN(t)) expires = t;
          break;
        }
        case 'max-age': {
          const s = Number(v);
          if (Number.isFinite(s)) expires = Date.now() + s * 1000;
          break;
        }
      }
    }
    const key = `${name};${path}`;
    if (expires <= Date.now()) this.cookies.delete(key);
    else this.cookies.set(key, { name, value, path, expires });
  }
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  return (
    requestPath === cookiePath ||
    (requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/'))
  );
}

type StoredPayload = Record<string, unknown> & { uid?: string; userCode?: string; grantId?: string; consumed?: number };

/** oidc-provider's storage contract, in memory and private to one provider (its built-in memory
 *  adapter warns on every start and shares one store per process). */
function memoryAdapter(): (model: string) => object {
  const store = new Map<string, { payload: StoredPayload; expiresAt: number }>();
  const sessionsByUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  const byGrant = new Map<string, Set<string>>();
  const grantable = new Set([
    'AccessToken',
    'AuthorizationCode',
    'RefreshToken',
    'DeviceCode',
    'BackchannelAuthenticationRequest',
  ]);
  const clockToleranceMs = 15_000;
  const get = (key: string | undefined): StoredPayload | undefined => {
    if (key === undefined) return undefined;
    const entry = store.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry?.payload;
  };
  return (model) => {
    const keyOf = (id: string) => `${model}:${id}`;
    return {
      async upsert(id: string, payload: StoredPayload, expiresIn?: number) {
        const key = keyOf(id);
        store.set(key, {
          payload,
          expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 + clockToleranceMs : Infinity,
        });
        if (model === 'Session' && payload.uid) sessionsByUid.set(payload.uid, key);
        if (payload.userCode) byUserCode.set(payload.userCode, key);
        if (grantable.has(model) && payload.grantId) {
          const members = byGrant.get(payload.grantId) ?? new Set<string>();
          members.add(key);
          byGrant.set(payload.grantId, members);
        }
      },
      async find(id: string) {
        return get(keyOf(id));
      },
      async findByUid(uid: string) {
        return get(sessionsByUid.get(uid));
      },
      async findByUserCode(userCode: string) {
        return get(byUserCode.get(userCode));
      },
      async consume(id: string) {
        const payload = get(keyOf(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id: string) {
        store.delete(keyOf(id));
      },
      async revokeByGrantId(grantId: string) {
        for (const key of byGrant.get(grantId) ?? []) store.delete(key);
        byGrant.delete(grantId);
      },
    };
  };
}
