#!/usr/bin/env node
/**
 * `cx`: the user's client of the public API. Runs the command line against the commands of
 * program.ts and turns failures into a message on stderr and a documented exit code (exit-codes.ts).
 */
import { CommanderError } from 'commander';
import { describeFailure, EXIT } from './exit-codes.js';
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync()
  .then(
    () => process.exit(EXIT.ok),
    (error: unknown) => {
      if (error instanceof CommanderError) {
        // Commander printed the message (or the help / version) itself.
        process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
      }
      const { message, exitCode } = describeFailure(error);
      process.stderr.write(`cx: ${message}\n`);
      process.exit(exitCode);
    },
  );
