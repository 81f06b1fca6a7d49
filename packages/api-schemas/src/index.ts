/**
 * Wire schemas of the public API (`/api/v1`), in TypeBox. The same objects drive ajv validation in
 * wfm and the OpenAPI 3.1 document at `/api/v1/openapi.json`; the TypeScript types are derived
 * from them with Static<>, so each shape is declared once.
 */
export * from './common.js';
export * from './auth.js';
export * from './clusters.js';
export * from './workflows.js';
export * from './providers.js';
export * from './template-ref.js';
export * from './templates.js';
export * from './access.js';
export * from './addons.js';
export * from './pairs.js';
export * from './etcd.js';
export * from './cluster-events.js';
export * from './settings.js';
