#!/usr/bin/env node
/** `cx-server`: placeholder until the launcher moves here from packages/cli. */
export {};
