import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { InputError, type FieldError } from '@cx/errors';
import { configKeys, envNameOf } from './keys.js';
import { setPath } from './paths.js';
import { configSchema, type CxConfig } from './schema.js';

export interface LoadConfigOptions {
  /** YAML file; `CX_CONFIG` is used when absent. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values applied under the file and the environment (e.g. the embedded default's generated keys). */
  defaults?: Record<string, unknown>;
}

/**
 * Loads the YAML file, applies `CX_*` overrides, validates with ajv and freezes. Throws an
 * InputError listing every invalid key (with its environment variable) at once.
 */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<CxConfig> {
  const env = options.env ?? process.env;
  const file = options.file ?? env['CX_CONFIG'];
  const errors: FieldError[] = [];
  let fromFile: Record<string, unknown> = {};
  if (file) {
    try {
      const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed))
          errors.push({ field: file, message: 'the configuration file must hold a YAML mapping' });
        else fromFile = parsed as Record<string, unknown>;
      }
    } catch (error) {
      errors.push({ field: file, message: `cannot read the configuration file: ${(error as Error).message}` });
    }
  }
  const merged = deepMerge(structuredClone(options.defaults ?? {}), fromFile);
  for (const key of configKeys()) {
    const raw = env[key.env];
    if (raw === undefined || raw === '') continue;
    const value = coerce(raw, key.type);
    if (value === undefined) {
      errors.push({
        field: key.path,
        message: `${key.env}=${key.secret ? '<redacted>' : raw} is not a valid ${key.type}`,
      });
      continue;
    }
    setPath(merged, key.path, value);
  }
  const envOf = (path: string): string => configKeys().find((k) => k.path === path)?.env ?? envNameOf(path);
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  const validate = ajv.compile(configSchema);
  if (!validate(merged)) {
    for (const error of validate.errors ?? []) {
      const base = error.instancePath.slice(1).replace(/\//g, '.');
      const path =
        error.keyword === 'additionalProperties'
          ? `${base ? base + '.' : ''}${String(error.params['additionalProperty'])}`
          : base;
      const message =
        error.keyword === 'additionalProperties' ? 'is not a known configuration key' : (error.message ?? 'is invalid');
      errors.push({ field: path, message: `${message} (environment: ${envOf(path)})` });
    }
  }
  if (errors.length > 0) {
    throw new InputError(
      `invalid configuration:\n${errors.map((e) => `  - ${e.field}: ${e.message}`).join('\n')}`,
      errors,
    );
  }
  // Paths are resolved once, here: a process that later runs in another directory (kube-apiserver
  // of the kwok runtime, say) gets absolute ones.
  merged['dataDir'] = resolve(merged['dataDir'] as string);
  const database = merged['database'] as { url?: string };
  database.url ??= `sqlite:${join(merged['dataDir'] as string, 'cx.db')}`;
  if (database.url.startsWith('sqlite:') && database.url !== 'sqlite::memory:')
    database.url = `sqlite:${resolve(database.url.slice('sqlite:'.length))}`;
  return deepFreeze(merged) as unknown as Readonly<CxConfig>;
}

function coerce(raw: string, type: string): unknown {
  switch (type) {
    case 'integer':
      return /^-?\d+$/.test(raw) ? Number(raw) : undefined;
    case 'number':
      return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : undefined;
    case 'boolean':
      return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : undefined;
    case 'array':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(over)) {
    const current = base[key];
    if (isPlainObject(value) && isPlainObject(current)) base[key] = deepMerge(current, value);
    else base[key] = value;
  }
  return base;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
