export { buildSddcApp, buildProviders, type SddcApp } from './app.js';
export { connectRedis } from './redis.js';
