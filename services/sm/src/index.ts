export { buildSmApp, type SmApp } from './app.js';
export { openDatabase } from './db.js';
export { StateStore } from './store.js';
export { rotateSecrets, SecretBox } from './secrets.js';
export { runSm } from './main.js';
