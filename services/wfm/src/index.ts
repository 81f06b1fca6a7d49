export { buildWfmApp, type WfmApp } from './app.js';
export { WorkflowEngine, type WorkflowDefinition, type StepResult } from './engine.js';
export { SmClient } from '@cx/sm-contract';
export { runWfm } from './main.js';
