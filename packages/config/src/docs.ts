import { configKeys } from './keys.js';

/** docs/configuration.md, rendered from the schema. */
export function renderConfigurationDoc(): string {
  const rows = configKeys().map((key) => {
    const shown = key.default === undefined ? '—' : `\`${JSON.stringify(key.default)}\``;
    const type = key.enum ? key.enum.map((v) => `\`${String(v)}\``).join(' \\| ') : key.type;
    return `| \`${key.path}\` | \`${key.env}\` | ${type} | ${shown} | ${key.description.replace(/\|/g, '\\|')}${key.secret ? ' **Secret**: never logged.' : ''} |`;
  });
  return `# Configuration

cx reads one YAML file (\`--config FILE\` or \`CX_CONFIG\`), then applies \`CX_*\` environment
variables over it, validates the result and refuses to start with the list of every invalid key.
Each key's variable is its path in upper snake case: \`http.port\` → \`CX_HTTP_PORT\`,
\`sim.latencyMs\` → \`CX_SIM_LATENCY_MS\`; the keys of \`auth.ldap\` and \`auth.oidc\` drop the
\`AUTH_\` (\`auth.ldap.url\` → \`CX_LDAP_URL\`). Lists are comma-separated in the environment.

\`npm start\` (\`cx-server all-in-one\`) needs nothing: the database defaults to SQLite under
\`dataDir\`, \`secretKey\` and \`serviceToken\` are generated into \`dataDir/secrets.json\` (mode 0600), a
private \`redis-server\` is started when \`redis.url\` is unset, and the bootstrap admin's password is
generated and printed unless \`CX_ADMIN_PASSWORD\` is set. Separate services (\`cx-server sm\`,
\`cx-server wfm\`, \`cx-server sddc\`) need \`database.url\` (sm), \`redis.url\` (wfm, sddc), \`secretKey\`
and \`serviceToken\`.

Example:

\`\`\`yaml
http:
  host: 0.0.0.0
  port: 8080
database:
  url: mysql://cx:secret@mysql:3306/cx
redis:
  url: redis://redis:6379
sm:
  url: http://sm:8081
sim:
  latencyMs: 0
\`\`\`

| key | environment | type | default | meaning |
|---|---|---|---|---|
${rows.join('\n')}

This file is generated from \`packages/config/src/schema.ts\` by \`npm run docs\`.
`;
}
