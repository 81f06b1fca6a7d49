export { buildSddcApp, buildProviders, providersKey, type SddcApp } from './app.js';
export { connectRedis } from './redis.js';
export { runSddc } from './main.js';
