export { buildSmApp, type SmApp } from './app.js';
export { openDatabase } from './db.js';
export { StateStore, type StepEffect, type WorkflowStart, type StartRequest } from './store.js';
export type { Machine, RunDetail } from './rows.js';
export { rotateSecrets, SecretBox } from './secrets.js';
export { runSm } from './main.js';
