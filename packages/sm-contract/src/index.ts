/** sm's internal API: the shapes that cross between sm and wfm / sddc, and the one client of it. */
export * from './addons.js';
export * from './audit.js';
export * from './client.js';
export * from './clusters.js';
export * from './etcd.js';
export * from './health.js';
export * from './hosts.js';
export * from './machines.js';
export * from './names.js';
export * from './pairs.js';
export * from './runs.js';
export * from './schema.js';
export * from './templates.js';
