/** Test helpers of `@cx/pair`: the model world and the randomized sequences that prove the logic. */
export * from './simulation.js';
