/**
 * The API's request schemas, read from its OpenAPI document (/api/v1/openapi.json), so that forms
 * check what wfm will check — patterns, lengths, ranges — without a second copy of them here.
 */

/** The part of JSON Schema the forms read. */
export interface JsonSchema {
  type?: string | string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: JsonSchema }> } }>>;
}

let document: Promise<OpenApiDocument> | undefined;
async function openApi(): Promise<OpenApiDocument> {
  document ??= fetch('/api/v1/openapi.json').then(async (response) => {
    if (!response.ok) throw new Error(`the OpenAPI document answered ${response.status}`);
    return (await response.json()) as OpenApiDocument;
  });
  return document;
}

/** The body schema of an operation, its alternatives merged so that every property is found. */
export async function requestSchema(method: string, path: string): Promise<JsonSchema> {
  const operation = (await openApi()).paths[path]?.[method.toLowerCase()];
  const schema = Object.values(operation?.requestBody?.content ?? {})[0]?.schema ?? {};
  const merge = (s: JsonSchema): JsonSchema => ({
    ...s,
    properties: Object.assign(
      {},
      s.properties,
      ...[...(s.anyOf ?? []), ...(s.allOf ?? [])].map((x) => merge(x).properties),
    ),
  });
  return merge(schema);
}

export const createRequestSchema = (): Promise<JsonSchema> => requestSchema('POST', '/api/v1/clusters');

/** What is wrong with a value by its schema, in words; undefined when nothing is (or no schema). */
export function fieldProblem(schema: JsonSchema | undefined, value: string | number, raw?: string): string | undefined {
  if (!schema) return undefined;
  if (typeof value === 'number') {
    if (raw !== undefined && raw.trim() === '') return 'required';
    if (!Number.isInteger(value)) return 'a whole number';
    if (schema.minimum !== undefined && value < schema.minimum) return `at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `at most ${schema.maximum}`;
    return undefined;
  }
  if (schema.minLength !== undefined && value.length < schema.minLength)
    return value.length === 0 ? 'required' : `at least ${schema.minLength} characters`;
  if (schema.maxLength !== undefined && value.length > schema.maxLength)
    return `at most ${schema.maxLength} characters`;
  if (schema.pattern && !new RegExp(schema.pattern).test(value)) return `does not match ${schema.pattern}`;
  return undefined;
}
