export { buildSmApp, type SmApp } from './app.js';
export { smInProcess } from './in-process.js';
export { openDatabase } from './db/database.js';
export { LoginThrottle } from './identity/throttle.js';
export { Clusters } from './clusters/clusters.js';
export { WorkflowRuns } from './runs/workflow-runs.js';
export { rotateSecrets, SecretBox } from './secrets/secret-box.js';
export { runSm } from './main.js';
