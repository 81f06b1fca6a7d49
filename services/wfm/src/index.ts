export { buildWfmApp, type WfmApp } from './app.js';
export { WorkflowEngine, type WorkflowDefinition, type StepResult } from './engine.js';
