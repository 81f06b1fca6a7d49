export {
  configSchema,
  type CxConfig,
  type LdapConfig,
  type OidcConfig,
  type LockoutConfig,
  type ApiTokenConfig,
  type ScaleLimits,
} from './schema.js';
export { configKeys, envNameOf, type ConfigKey } from './keys.js';
export { loadConfig, type LoadConfigOptions } from './load.js';
export { redactConfig, redactUrl } from './redact.js';
export { renderConfigurationDoc } from './docs.js';
