/** The leaf keys of the configuration schema, each with the `CX_*` variable that overrides it. */
import { configSchema } from './schema.js';

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  description?: string;
  default?: unknown;
  secret?: boolean;
  enum?: readonly unknown[];
  /** The environment variable, where it is not the one derived from the path. */
  env?: string;
}

/** One leaf key of the configuration with the environment variable that overrides it. */
export interface ConfigKey {
  path: string;
  env: string;
  type: string;
  description: string;
  default: unknown;
  secret: boolean;
  enum?: readonly unknown[];
}

/** `sim.latencyMs` → `CX_SIM_LATENCY_MS`. */
export function envNameOf(path: string): string {
  return (
    'CX_' +
    path
      .split('.')
      .map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
      .join('_')
  );
}

/** Every leaf key of the schema, in schema order. */
export function configKeys(): ConfigKey[] {
  const keys: ConfigKey[] = [];
  const walk = (node: SchemaNode, prefix: string): void => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${name}` : name;
      if (child.type === 'object') walk(child, path);
      else
        keys.push({
          path,
          env: child.env ?? envNameOf(path),
          type: child.type ?? 'string',
          description: child.description ?? '',
          default: child.default,
          secret: child.secret === true,
          ...(child.enum ? { enum: child.enum } : {}),
        });
    }
  };
  walk(configSchema as unknown as SchemaNode, '');
  return keys;
}
