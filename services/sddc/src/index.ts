export { buildSddcApp, type SddcApp } from './app.js';
export { buildProviders } from './providers/build-providers.js';
export { connectRedis } from './redis.js';
export { runSddc } from './main.js';
