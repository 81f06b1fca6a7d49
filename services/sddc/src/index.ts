export { buildSddcApp, buildRegistry, providersKey, type SddcApp } from './app.js';
export { connectRedis } from './redis.js';
