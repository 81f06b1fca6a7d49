/** What every internal route that starts a workflow takes, as JSON schema (the type is StartRequest in store.ts). */
export const startRequestSchema = {
  type: 'object', required: ['actor', 'workflow'],
  properties: {
    actor: { type: 'string', minLength: 1 }, idempotencyKey: { type: 'string', maxLength: 255 }, requestHash: { type: 'string' },
    workflow: {
      type: 'object', required: ['workflow', 'version', 'steps', 'input', 'clusterStatus'],
      properties: { workflow: { type: 'string' }, version: { type: 'integer' }, steps: { type: 'array', minItems: 1, items: { type: 'string' } }, input: { type: 'object' }, clusterStatus: { type: 'string' } },
    },
  },
} as const;
